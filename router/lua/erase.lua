-- Erases a conversation on request (personal data): its hash, transcript, contact pointer,
-- queue entry, timers and its place in the manager's load. Copies of its messages in the
-- inbound, outbound and events streams disappear when those are trimmed (every 30 s, once
-- processed); dead-letter streams are not touched.
-- KEYS[1] {P}:waiting
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id
-- returns status: ok | notfound
local cid, now = ARGV[3], ARGV[2]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'ch', 'acct', 'contact')
if not f[1] then return 'notfound' end
local holder = ''
if f[1] == 'offered' then holder = f[2] elseif f[1] == 'assigned' then holder = f[3] end
if holder and holder ~= '' then
  local load = redis.call('HINCRBY', K('mgr', holder), 'load', -1)
  if load < 0 then redis.call('HSET', K('mgr', holder), 'load', 0) end
  redis.call('ZREM', K('mgr', holder, 'convs'), cid)
end
redis.call('ZREM', K('waiting'), cid)
redis.call('ZREM', K('timers'), 'o|' .. cid .. '|' .. (f[4] or '0'), 'r|' .. cid .. '|' .. (f[4] or '0'))
local contact = K('contact', f[5] or '', f[6] or '', f[7] or '')
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
redis.call('DEL', ck, K('conv', cid, 'log'), K('conv', cid, 'lapsed'))
event('closed', cid, holder, f[4] or 0, 'erased', '', now)
return 'ok'
