-- A lead-manager takes an offer.
-- KEYS[1] {P}:timers
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] manager   ARGV[5] first-response SLA ms
-- returns {status, offered ms}; status: ok | already | notfound | notyours
local cid, mgr, now = ARGV[3], ARGV[4], ARGV[2]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'offered', 'replied')
if not f[1] then return {'notfound', 0} end
if f[1] == 'assigned' and f[3] == mgr then return {'already', f[5] or 0} end
if f[1] ~= 'offered' or f[2] ~= mgr then return {'notyours', 0} end
redis.call('HSET', ck, 'state', 'assigned', 'mgr', mgr, 'offer_to', '', 'accepted', now)
redis.call('ZREM', K('timers'), 'o|' .. cid .. '|' .. f[4])
if f[6] ~= '1' then
  redis.call('ZADD', K('timers'), tonumber(now) + tonumber(ARGV[5]), 'r|' .. cid .. '|' .. f[4])
end
redis.call('ZADD', K('mgr', mgr, 'convs'), now, cid)
event('assigned', cid, mgr, f[4], '', '', now)
return {'ok', f[5] or 0}
