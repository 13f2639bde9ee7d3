-- A lead-manager declines an offer: it goes back to the queue and is not offered to them
-- again in this round.
-- KEYS[1] {P}:timers
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] manager
-- returns status: ok | notfound | notyours
local cid, mgr, now = ARGV[3], ARGV[4], ARGV[2]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'seq')
if not f[1] then return 'notfound' end
if f[1] ~= 'offered' or f[2] ~= mgr then return 'notyours' end
requeue(cid, mgr, now)
redis.call('SADD', K('conv', cid, 'lapsed'), mgr)
redis.call('ZREM', K('timers'), 'o|' .. cid .. '|' .. f[3])
event('offer_withdrawn', cid, mgr, f[3], 'passed', '', now)
return 'ok'
