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
-- returns {status, conversation id, created 1|0, state, manager}
--   status: "ok" | "dup" (entry already applied) | "ignored" (reaction/edit with no open conversation)
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
    'name', ARGV[11], 'phone', ARGV[12], 'email', ARGV[13], 'src', ARGV[14], 'meta', ARGV[15],
    'prio', ARGV[16], 'tags', ARGV[17], 'spam', ARGV[18], 'state', state,
    'seq', 0, 'offers', 0, 'first_in', ARGV[19], 'last_in', now, 'created', now)
  push_log(cid, ARGV[9], ARGV[10])
  if state == 'closed' then
    redis.call('HSET', ck, 'closed', now)
    redis.call('PEXPIRE', ck, ARGV[23])
    redis.call('PEXPIRE', K('conv', cid, 'log'), ARGV[23])
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
push_log(cid, ARGV[9], ARGV[10])
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
  if ARGV[5] ~= 'reaction' then
    event('customer_message', cid, mgr, redis.call('HGET', ck, 'seq'), ARGV[5], ARGV[9], now)
  end
end
return {'ok', cid, 0, state, mgr}
