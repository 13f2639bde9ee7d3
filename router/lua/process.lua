-- Applies one inbound customer item to its conversation. Idempotent per stream entry.
-- KEYS[1] {P}:done:<inbound entry id>   KEYS[2] {P}:contact:<channel>:<acct>:<contact id>
-- KEYS[3] {P}:seq   KEYS[4] {P}:waiting   KEYS[5] {P}:outbound   KEYS[6] {P}:events
-- KEYS[7] {P}:conv: (prefix: the conversation id is read from KEYS[2] or drawn from KEYS[3])
-- KEYS[8] {P}:expiry (spam is closed at once: erased when the retention ends, see retire.lua)
-- ARGV[1] now ms   ARGV[2] done-marker TTL ms
-- ARGV[3] kind (message|edit|reaction|delete)   ARGV[4] channel   ARGV[5] account   ARGV[6] contact id
-- ARGV[7] transcript line (JSON)   ARGV[8] transcript limit
-- ARGV[9] name   ARGV[10] phone   ARGV[11] email   ARGV[12] source   ARGV[13] meta JSON
-- ARGV[14] priority   ARGV[15] tags (comma-separated)   ARGV[16] spam (1|0)
-- ARGV[17] first inbound time ms (channel timestamp or receive time)
-- ARGV[18] auto-reply kind ("" = none)   ARGV[19] auto-reply outbound JSON with "__CID__" placeholders
-- ARGV[20] auto-reply transcript line JSON   ARGV[21] retention ms (spam is closed at once and expires)
-- ARGV[22] for an edit or a deletion: the channel id of the customer's original message ("" otherwise)
-- ARGV[23] JSON object of the fields to set on the original's transcript line
-- ARGV[24] comma-separated fields to remove from it (a deletion drops the content)
-- returns {status, conversation id, created 1|0, state, manager}
--   status: "ok" | "dup" (entry already applied) | "ignored" (reaction/edit/delete with no open conversation)
-- An edit or a deletion rewrites the original message's transcript line in place (found by
-- id, newest first); an edit of a line no longer in the transcript is appended instead.
local done, contact, seqk, waiting, outbound, events, convs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, kind = ARGV[1], ARGV[3]
if not redis.call('SET', done, '1', 'NX', 'PX', ARGV[2]) then
  return {'dup', 0, 0, '', ''}
end
local cid = redis.call('GET', contact)
local state = ''
if cid then
  state = redis.call('HGET', conv_keys(convs, cid).conv, 'state')
  if not state or state == 'closed' then cid = nil end
end
if not cid then
  if kind ~= 'message' then
    return {'ignored', 0, 0, '', ''}
  end
  cid = tostring(redis.call('INCR', seqk))
  local c = conv_keys(convs, cid)
  state = 'waiting'
  if ARGV[16] == '1' then state = 'closed' end
  redis.call('HSET', c.conv, 'id', cid, 'ch', ARGV[4], 'acct', ARGV[5], 'contact', ARGV[6],
    'name', ARGV[9], 'phone', ARGV[10], 'email', ARGV[11], 'src', ARGV[12],
    'prio', ARGV[14], 'tags', ARGV[15], 'spam', ARGV[16], 'state', state,
    'seq', 0, 'offers', 0, 'first_in', ARGV[17], 'last_in', now, 'created', now)
  -- meta (consent, UTM, page URL...) is often longer than Redis' listpack value limit (64
  -- bytes); kept inside the hash it would turn the whole hash into a hashtable, about 3x
  -- the memory. It lives in its own key.
  if ARGV[13] ~= '' then redis.call('SET', c.meta, ARGV[13]) end
  push_log(c.log, ARGV[7], ARGV[8])
  if state == 'closed' then
    redis.call('HSET', c.conv, 'closed', now)
    retain(KEYS[8], cid, {c.conv, c.log, c.meta}, now, ARGV[21])
    return {'ok', cid, 1, state, ''}
  end
  redis.call('SET', contact, cid)
  redis.call('ZADD', waiting, qscore(ARGV[14], ARGV[17]), cid)
  if ARGV[18] ~= '' then
    local out = string.gsub(ARGV[19], '__CID__', cid)
    redis.call('XADD', outbound, '*', 'o', out)
    push_log(c.log, string.gsub(ARGV[20], '__CID__', cid), ARGV[8])
  end
  return {'ok', cid, 1, state, ''}
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
if kind == 'message' then
  redis.call('HSET', c.conv, 'last_in', now)
  local f = redis.call('HMGET', c.conv, 'name', 'phone', 'email')
  if (not f[1] or f[1] == '') and ARGV[9] ~= '' then redis.call('HSET', c.conv, 'name', ARGV[9]) end
  if (not f[2] or f[2] == '') and ARGV[10] ~= '' then redis.call('HSET', c.conv, 'phone', ARGV[10]) end
  if (not f[3] or f[3] == '') and ARGV[11] ~= '' then redis.call('HSET', c.conv, 'email', ARGV[11]) end
end
local mgr = ''
if state == 'assigned' then
  mgr = redis.call('HGET', c.conv, 'mgr') or ''
  if kind ~= 'reaction' and kind ~= 'delete' then
    event(events, 'customer_message', cid, mgr, redis.call('HGET', c.conv, 'seq'), kind, ARGV[7], now)
  end
end
return {'ok', cid, 0, state, mgr}
