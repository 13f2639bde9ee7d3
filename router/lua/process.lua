-- Applies one inbound customer item to its conversation. Idempotent per stream entry.
-- KEYS[1] {P}:done:<inbound entry id>   KEYS[2] {P}:contact:<channel>:<acct>:<contact id>
-- KEYS[3] {P}:seq   KEYS[4] {P}:waiting   KEYS[5] {P}:outbound   KEYS[6] {P}:events
-- KEYS[7] {P}:conv: (prefix: the conversation id is read from KEYS[2] or drawn from KEYS[3])
-- KEYS[8] {P}:expiry (spam is closed at once: erased when the retention ends, see retire.lua)
-- KEYS[9] {P}:hist: (prefix of the contact indexes, completed with the contact's pseudonym
--         ARGV[37] and the phone and e-mail pseudonyms ARGV[25], ARGV[26])
-- KEYS[10] {P}:timeline (stream; a new lead's "created" stage, its list completed from KEYS[7])
-- KEYS[11] {P}:leads (zset: a new lead, score = created ms; spam is no lead)
-- KEYS[12..] {P}:mgr:<id> of the lead-managers on shift, in off_hours_when nobody_online mode
--         only: when none of them is online, the off-hours reply ARGV[28] goes out instead of ARGV[19]
-- ARGV[1] now ms   ARGV[2] done-marker TTL ms
-- ARGV[3] kind (message|edit|reaction|delete)   ARGV[4] channel   ARGV[5] account   ARGV[6] contact id
-- ARGV[7] transcript line (JSON)   ARGV[8] transcript limit
-- ARGV[9] name   ARGV[10] phone   ARGV[11] email   ARGV[12] source   ARGV[13] meta JSON
-- ARGV[14] priority   ARGV[15] tags (comma-separated)   ARGV[16] spam (1|0)
-- ARGV[17] first inbound time ms (channel timestamp or receive time)
-- ARGV[18] auto-reply kind (auto_ack | off_hours; "" = none)
-- ARGV[19] auto-reply outbound JSON with "__CID__" placeholders ("" = none)
-- ARGV[20] auto-reply transcript line JSON   ARGV[21] retention ms (spam is closed at once and expires)
-- ARGV[22] for an edit or a deletion: the channel id of the customer's original message ("" otherwise)
-- ARGV[23] JSON object of the fields to set on the original's transcript line
-- ARGV[24] comma-separated fields to remove from it (a deletion drops the content)
-- ARGV[25] pseudonym of the phone (E.164) ("" = none)   ARGV[26] of the e-mail ("" = none)
-- ARGV[27] the qualification's explanation, a JSON list of lines ("" = none): kept on the lead card
-- ARGV[28] nobody_online: the off-hours reply's outbound JSON ("" = none)   ARGV[29] its transcript line
-- Pre-chat questions (router.prechat), "" ARGV[30] = none for this message:
-- ARGV[30] the questions, comma-separated, in order
-- ARGV[31] their texts, JSON object: intro (before the first question), one per question,
--          phone_invalid, thanks ("" = send nothing)
-- ARGV[32] outbound JSON with "__CID__", "__OID__" and "__TEXT__" (a JSON string) placeholders
-- ARGV[33] transcript line JSON with the same placeholders
-- ARGV[34] the message as an answer ("" = no text)   ARGV[35] the answer as an E.164 number ("" = not one)
-- ARGV[36] the pseudonym of that number (its contact index under KEYS[9])
-- ARGV[37] pseudonym of the contact id (its contact index under KEYS[9])
-- A new conversation gets the intro and the first question after the auto-reply; each later
-- customer message answers the pending question (conversation field pcq, 1-based; 0 = done)
-- and gets the next question or the thanks; an invalid phone is asked again once (pcr), and
-- not at all when the lead has a phone. The answers go to the lead card (q:<question>).
-- Questions stop once a human replied.
-- Every customer message (kind message) counts in the conversation field nin, for the
-- follow-up re-qualification (requalify.lua).
-- returns {status, conversation id, created 1|0, state, manager, nin}
--   nin: the customer messages of the conversation so far, this one included (0 for an
--   edit, a reaction or a deletion). A follow-up message of a conversation waiting for a
--   human keeps "<conversation id>:<nin>" in KEYS[1], and "dup" returns the id, the current
--   state and nin again, so a redelivered entry still gets its re-qualification (which is
--   idempotent per nin).
--   status: "ok" | "dup" (entry already applied) | "ignored" (reaction/edit/delete with no open conversation)
-- An edit or a deletion rewrites the original message's transcript line in place (found by
-- id, newest first); an edit of a line no longer in the transcript is appended instead.
local done, contact, seqk, waiting, outbound, events, convs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local hists = KEYS[9]

local now, kind = ARGV[1], ARGV[3]

-- queues a pre-chat text to conversation c (keys) cid
local function prechat_send(c, cid, text)
  if not text or text == '' then return end
  local oid = 'pc' .. redis.call('HINCRBY', c.conv, 'pc_n', 1)
  local enc = string.gsub(cjson.encode(text), '%%', '%%%%')
  local function fill(tmpl)
    local s = string.gsub(tmpl, '__CID__', cid)
    s = string.gsub(s, '__OID__', oid)
    s = string.gsub(s, '"__TEXT__"', enc)
    return s
  end
  redis.call('XADD', outbound, '*', 'o', fill(ARGV[32]))
  push_log(c.log, fill(ARGV[33]), ARGV[8])
end

-- the pre-chat questions ARGV[30] and their texts ARGV[31]
local function prechat_config()
  local qs = {}
  for q in string.gmatch(ARGV[30], '[^,]+') do qs[#qs + 1] = q end
  return qs, cjson.decode(ARGV[31])
end

-- the index of the first question from i on worth asking: the phone is not asked when the
-- lead has one (a WhatsApp number, a form's phone); nil when none is left
local function prechat_next(c, qs, i)
  while qs[i] == 'phone' do
    local p = redis.call('HGET', c.conv, 'phone')
    if not p or p == '' then break end
    i = i + 1
  end
  if qs[i] then return i end
  return nil
end

-- a new conversation c (keys) cid: the intro and the first question
local function prechat_start(c, cid)
  local qs, texts = prechat_config()
  local i = prechat_next(c, qs, 1)
  if not i then return end
  redis.call('HSET', c.conv, 'pcq', i)
  local text = texts[qs[i]]
  if texts.intro and texts.intro ~= '' then text = texts.intro .. '\n\n' .. text end
  prechat_send(c, cid, text)
end

-- the customer's message answers the pending pre-chat question of conversation c (keys) cid
local function prechat_answer(c, cid)
  local p = redis.call('HMGET', c.conv, 'pcq', 'replied', 'pcr', 'phone')
  local pcq = num(p[1])
  if pcq == 0 or ARGV[34] == '' then return end
  if p[2] == '1' then -- a human answered: no more questions
    redis.call('HSET', c.conv, 'pcq', 0)
    return
  end
  local qs, texts = prechat_config()
  local q = qs[pcq]
  if not q then
    redis.call('HSET', c.conv, 'pcq', 0)
    return
  end
  if q == 'phone' and ARGV[35] == '' and p[3] ~= '1' then
    redis.call('HSET', c.conv, 'pcr', 1)
    prechat_send(c, cid, texts.phone_invalid)
    return
  end
  local v = ARGV[34]
  if q == 'phone' then v = ARGV[35] end
  if v ~= '' then redis.call('HSET', c.card, 'q:' .. q, v) end
  if q == 'phone' and v ~= '' and ARGV[36] ~= '' and (not p[4] or p[4] == '') then
    redis.call('HSET', c.conv, 'phone', v, 'ph', ARGV[36])
    hist_add(hist_phone(hists, ARGV[36]), cid, now)
  end
  local i = prechat_next(c, qs, pcq + 1)
  if i then
    redis.call('HSET', c.conv, 'pcq', i)
    prechat_send(c, cid, texts[qs[i]])
  else
    redis.call('HSET', c.conv, 'pcq', 0)
    prechat_send(c, cid, texts.thanks)
  end
end
if not redis.call('SET', done, '1', 'NX', 'PX', ARGV[2]) then
  -- a follow-up that may await its re-qualification (the caller failed after this script
  -- ran): the marker holds "<conversation id>:<nin>" (see below)
  local d = redis.call('GET', done)
  local dc, dn = string.match(d or '', '^(%d+):(%d+)$')
  if dc then
    return {'dup', dc, 0, redis.call('HGET', conv_keys(convs, dc).conv, 'state') or '', '', tonumber(dn)}
  end
  return {'dup', 0, 0, '', '', 0}
end
local cid = redis.call('GET', contact)
local state = ''
if cid then
  state = redis.call('HGET', conv_keys(convs, cid).conv, 'state')
  if not state or state == 'closed' then cid = nil end
end
if not cid then
  if kind ~= 'message' then
    return {'ignored', 0, 0, '', '', 0}
  end
  cid = tostring(redis.call('INCR', seqk))
  local c = conv_keys(convs, cid)
  state = 'waiting'
  if ARGV[16] == '1' then state = 'closed' end
  redis.call('HSET', c.conv, 'id', cid, 'ch', ARGV[4], 'acct', ARGV[5], 'contact', ARGV[6],
    'name', ARGV[9], 'phone', ARGV[10], 'email', ARGV[11], 'src', ARGV[12],
    'prio', ARGV[14], 'tags', ARGV[15], 'spam', ARGV[16], 'state', state,
    'seq', 0, 'offers', 0, 'first_in', ARGV[17], 'last_in', now, 'created', now, 'hc', ARGV[37], 'nin', 1)
  if ARGV[27] ~= '' then redis.call('HSET', c.card, 'why', ARGV[27]) end
  -- meta (consent, UTM, page URL...) is often longer than Redis' listpack value limit (64
  -- bytes); kept inside the hash it would turn the whole hash into a hashtable, about 3x
  -- the memory. It lives in its own key.
  if ARGV[13] ~= '' then redis.call('SET', c.meta, ARGV[13]) end
  push_log(c.log, ARGV[7], ARGV[8])
  if state == 'closed' then
    redis.call('HSET', c.conv, 'closed', now)
    retain(KEYS[8], cid, {c.conv, c.log, c.meta, c.card}, now, ARGV[21])
    return {'ok', cid, 1, state, '', 1}
  end
  redis.call('SET', contact, cid)
  redis.call('ZADD', KEYS[11], now, cid)
  timeline(c.tl, KEYS[10], cid, 'created', '', nil, now)
  -- not a lead (spam) stays out of the contact indexes: it is no previous lead
  if ARGV[10] ~= '' and ARGV[25] ~= '' then redis.call('HSET', c.conv, 'ph', ARGV[25]) end
  if ARGV[11] ~= '' and ARGV[26] ~= '' then redis.call('HSET', c.conv, 'eh', ARGV[26]) end
  for _, k in ipairs(hist_keys(hists, ARGV[4], ARGV[5], ARGV[37], ARGV[25], ARGV[26])) do hist_add(k, cid, now) end
  redis.call('ZADD', waiting, qscore(ARGV[14], ARGV[17]), cid)
  local reply, line = ARGV[19], ARGV[20]
  if #KEYS > 11 then
    local online = false
    for i = 12, #KEYS do
      if redis.call('HGET', KEYS[i], 'online') == '1' then online = true break end
    end
    if not online then reply, line = ARGV[28], ARGV[29] end
  end
  if reply ~= '' then
    redis.call('XADD', outbound, '*', 'o', (string.gsub(reply, '__CID__', cid)))
    push_log(c.log, (string.gsub(line, '__CID__', cid)), ARGV[8])
  end
  if ARGV[30] ~= '' then prechat_start(c, cid) end
  return {'ok', cid, 1, state, '', 1}
end
local c = conv_keys(convs, cid)
local rewritten = false
if ARGV[22] ~= '' then
  local lines = redis.call('LRANGE', c.log, 0, -1)
  for i = #lines, 1, -1 do
    local ok, m = pcall(cjson.decode, lines[i])
    if ok and type(m) == 'table' and m.dir == 'in' and m.id == ARGV[22] then
      for k, v in pairs(cjson.decode(ARGV[23])) do m[k] = v end
      for k in string.gmatch(ARGV[24], '[^,]+') do m[k] = nil end
      redis.call('LSET', c.log, i - 1, cjson.encode(m))
      rewritten = true
      break
    end
  end
end
if not rewritten and kind ~= 'delete' then push_log(c.log, ARGV[7], ARGV[8]) end
local nin = 0
if kind == 'message' then
  redis.call('HSET', c.conv, 'last_in', now)
  nin = redis.call('HINCRBY', c.conv, 'nin', 1)
  if nin == 1 then -- a conversation from before the count: at least its first message came before
    nin = 2
    redis.call('HSET', c.conv, 'nin', nin)
  end
  if state == 'waiting' or state == 'offered' then
    redis.call('SET', done, cid .. ':' .. nin, 'KEEPTTL')
  end
  local f = redis.call('HMGET', c.conv, 'name', 'phone', 'email')
  if (not f[1] or f[1] == '') and ARGV[9] ~= '' then redis.call('HSET', c.conv, 'name', ARGV[9]) end
  if (not f[2] or f[2] == '') and ARGV[10] ~= '' then
    redis.call('HSET', c.conv, 'phone', ARGV[10])
    if ARGV[25] ~= '' then
      redis.call('HSET', c.conv, 'ph', ARGV[25])
      hist_add(hist_phone(hists, ARGV[25]), cid, now)
    end
  end
  if (not f[3] or f[3] == '') and ARGV[11] ~= '' then
    redis.call('HSET', c.conv, 'email', ARGV[11])
    if ARGV[26] ~= '' then
      redis.call('HSET', c.conv, 'eh', ARGV[26])
      hist_add(hist_email(hists, ARGV[26]), cid, now)
    end
  end
  if ARGV[30] ~= '' then prechat_answer(c, cid) end
end
local mgr = ''
if state == 'assigned' then
  -- a handed-off lead waiting for a sales manager (queued, offered) is held by the
  -- lead-manager who handed it off (lm) until a sales manager accepts it
  local h = redis.call('HMGET', c.conv, 'mgr', 'sstate', 'lm')
  mgr = h[1] or ''
  if mgr == '' and (h[2] == 'queued' or h[2] == 'offered') then mgr = h[3] or '' end
  if kind ~= 'reaction' and kind ~= 'delete' then
    event(events, 'customer_message', cid, mgr, redis.call('HGET', c.conv, 'seq'), kind, ARGV[7], now)
  end
end
return {'ok', cid, 0, state, mgr, nin}
