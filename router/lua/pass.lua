-- A lead-manager declines an offer: it goes back to the queue and is not offered to them
-- again in this round.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:lapsed   KEYS[3] {P}:waiting   KEYS[4] {P}:timers
-- KEYS[5] {P}:events   KEYS[6] {P}:mgr:<manager>   KEYS[7] {P}:mgr:<manager>:convs
-- KEYS[8] {P}:conv:<id>:tl   KEYS[9] {P}:timeline: stage offer_lapsed {reason passed}
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] manager
-- returns status: ok | notfound | notyours
local ck, lapsed, waiting, timers, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mk = {mgr = KEYS[6], convs = KEYS[7]}
local now, cid, mgr = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'seq')
if not f[1] then return 'notfound' end
if f[1] ~= 'offered' or f[2] ~= mgr then return 'notyours' end
requeue(ck, waiting, cid, mk)
redis.call('SADD', lapsed, mgr)
redis.call('ZREM', timers, 'o|' .. cid .. '|' .. f[3])
event(events, 'offer_withdrawn', cid, mgr, f[3], 'passed', '', now)
timeline(KEYS[8], KEYS[9], cid, 'offer_lapsed', mgr, {reason = 'passed'}, now)
return 'ok'
