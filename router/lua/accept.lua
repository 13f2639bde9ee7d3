-- A lead-manager takes an offer.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:timers   KEYS[3] {P}:mgr:<manager>:convs   KEYS[4] {P}:events
-- KEYS[5] {P}:conv:<id>:tl   KEYS[6] {P}:timeline: stage accepted
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] manager   ARGV[4] first-response SLA ms
-- returns {status, offered ms}; status: ok | already | notfound | notyours
local ck, timers, convs, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cid, mgr = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'offered', 'replied')
if not f[1] then return {'notfound', 0} end
if f[1] == 'assigned' and f[3] == mgr then return {'already', f[5] or 0} end
if f[1] ~= 'offered' or f[2] ~= mgr then return {'notyours', 0} end
redis.call('HSET', ck, 'state', 'assigned', 'mgr', mgr, 'offer_to', '', 'accepted', now)
redis.call('ZREM', timers, 'o|' .. cid .. '|' .. f[4])
if f[6] ~= '1' then
  redis.call('ZADD', timers, tonumber(now) + tonumber(ARGV[4]), 'r|' .. cid .. '|' .. f[4])
end
redis.call('ZADD', convs, now, cid)
event(events, 'assigned', cid, mgr, f[4], '', '', now)
timeline(KEYS[5], KEYS[6], cid, 'accepted', mgr, nil, now)
return {'ok', f[5] or 0}
