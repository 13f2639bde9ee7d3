-- Applies one inbound customer item to its conversation. Idempotent per stream entry.
-- KEYS[1] {P}:seq (slot anchor)
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] inbound stream entry id   ARGV[4] done-marker TTL ms
-- ARGV[5] kind (message|edit|reaction)   ARGV[6] channel   ARGV[7] account   ARGV[8] contact id
-- ARGV[9] transcript line (JSON)   ARGV[10] transcript limit
-- ARGV[11] name   ARGV[12] phone   ARGV[13] email   ARGV[14] source   ARGV[15] meta JSON
-- ARGV[16] priority   ARGV[17] tags (comma-separated)   ARGV[18] spam (1|0)
-- ARGV[19] first inbound time ms (channel timestamp or receive time)
-- ARGV[20] auto-reply kind ("" = none)   ARGV[21] auto-reply outbound JSON with "__CID__" placeholders
-- ARGV[22] auto-reply transcript line JSON   ARGV[23] retention ms (spam is closed at once and expires)
-- ARGV[24] for an edit or a deletion: the channel id of the customer's original message ("" otherwise)
-- ARGV[25] JSON object of the fields to set on the original's transcript line
-- ARGV[26] comma-separated fields to remove from it (a deletion drops the content)
-- returns {status, conversation id, created 1|0, state, manager}
--   status: "ok" | "dup" (entry already applied) | "ignored" (reaction/edit/delete with no open conversation)
-- An edit or a deletion rewrites the original message's transcript line in place (found by
-- id, newest first); an edit of a line no longer in the transcript is appended instead.
local now = ARGV[2]
if not redis.call('SET', K('done', ARGV[3]), '1', 'NX', 'PX', ARGV[4]) then
  return {'dup', 0, 0, '', ''}
end
local contact = K('contact', ARGV[6], ARGV[7], ARGV[8])
local cid = redis.call('GET', contact)
local state = ''
if cid then
  state = redis.call('HGET', K('conv', cid), 'state')
  if not state or state == 'closed' then cid = nil end
end
if not cid then
  if ARGV[5] ~= 'message' then
    return {'ignored', 0, 0, '', ''}
  end
  cid = tostring(redis.call('INCR', K('seq')))
  local ck = K('conv', cid)
  state = 'waiting'
  if ARGV[18] == '1' then state = 'closed' end
  redis.call('HSET', ck, 'id', cid, 'ch', ARGV[6], 'acct', ARGV[7], 'contact', ARGV[8],
    'name', ARGV[11], 'phone', ARGV[12], 'email', ARGV[13], 'src', ARGV[14],
    'prio', ARGV[16], 'tags', ARGV[17], 'spam', ARGV[18], 'state', state,
    'seq', 0, 'offers', 0, 'first_in', ARGV[19], 'last_in', now, 'created', now)
  -- meta (consent, UTM, page URL...) is often longer than Redis' listpack value limit (64
  -- bytes); kept inside the hash it would turn the whole hash into a hashtable, about 3x
  -- the memory. It lives in its own key.
  if ARGV[15] ~= '' then redis.call('SET', K('conv', cid, 'meta'), ARGV[15]) end
  push_log(cid, ARGV[9], ARGV[10])
  if state == 'closed' then
    redis.call('HSET', ck, 'closed', now)
    redis.call('PEXPIRE', ck, ARGV[23])
    redis.call('PEXPIRE', K('conv', cid, 'log'), ARGV[23])
    redis.call('PEXPIRE', K('conv', cid, 'meta'), ARGV[23])
    return {'ok', cid, 1, state, ''}
  end
  redis.call('SET', contact, cid)
  redis.call('ZADD', K('waiting'), qscore(ARGV[16], ARGV[19]), cid)
  if ARGV[20] ~= '' then
    local out = string.gsub(ARGV[21], '__CID__', cid)
    redis.call('XADD', K('outbound'), '*', 'o', out)
    push_log(cid, string.gsub(ARGV[22], '__CID__', cid), ARGV[10])
  end
  return {'ok', cid, 1, state, ''}
end
local ck = K('conv', cid)
local rewritten = false
if ARGV[24] ~= '' then
  local lk = K('conv', cid, 'log')
  local lines = redis.call('LRANGE', lk, 0, -1)
  for i = #lines, 1, -1 do
    local ok, m = pcall(cjson.decode, lines[i])
    if ok and type(m) == 'table' and m.dir == 'in' and m.id == ARGV[24] then
      for k, v in pairs(cjson.decode(ARGV[25])) do m[k] = v end
      for k in string.gmatch(ARGV[26], '[^,]+') do m[k] = nil end
      redis.call('LSET', lk, i - 1, cjson.encode(m))
      rewritten = true
      break
    end
  end
end
if not rewritten and ARGV[5] ~= 'delete' then push_log(cid, ARGV[9], ARGV[10]) end
if ARGV[5] == 'message' then
  redis.call('HSET', ck, 'last_in', now)
  local f = redis.call('HMGET', ck, 'name', 'phone', 'email')
  if (not f[1] or f[1] == '') and ARGV[11] ~= '' then redis.call('HSET', ck, 'name', ARGV[11]) end
  if (not f[2] or f[2] == '') and ARGV[12] ~= '' then redis.call('HSET', ck, 'phone', ARGV[12]) end
  if (not f[3] or f[3] == '') and ARGV[13] ~= '' then redis.call('HSET', ck, 'email', ARGV[13]) end
end
local mgr = ''
if state == 'assigned' then
  mgr = redis.call('HGET', ck, 'mgr') or ''
  if ARGV[5] ~= 'reaction' and ARGV[5] ~= 'delete' then
    event('customer_message', cid, mgr, redis.call('HGET', ck, 'seq'), ARGV[5], ARGV[9], now)
  end
end
return {'ok', cid, 0, state, mgr}
