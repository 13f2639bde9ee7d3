-- A lead-manager goes online or offline. Going offline gives back every offer and every
-- accepted conversation not yet answered; answered conversations stay with the manager.
-- KEYS[1] {P}:waiting
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] manager   ARGV[4] online 1|0
-- returns the number of conversations returned to the queue
local mgr, now = ARGV[3], ARGV[2]
redis.call('HSET', K('mgr', mgr), 'online', ARGV[4], 'since', now)
if ARGV[4] == '1' then return 0 end
local n = 0
for _, cid in ipairs(redis.call('ZRANGE', K('mgr', mgr, 'convs'), 0, -1)) do
  local ck = K('conv', cid)
  local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'replied', 'seq')
  if f[1] == 'offered' and f[2] == mgr then
    requeue(cid, mgr, now)
    redis.call('ZREM', K('timers'), 'o|' .. cid .. '|' .. f[5])
    event('offer_withdrawn', cid, mgr, f[5], 'offline', '', now)
    n = n + 1
  elseif f[1] == 'assigned' and f[3] == mgr and f[4] ~= '1' then
    requeue(cid, mgr, now)
    redis.call('ZREM', K('timers'), 'r|' .. cid .. '|' .. f[5])
    event('released', cid, mgr, f[5], 'offline', '', now)
    n = n + 1
  elseif f[1] ~= 'assigned' or f[3] ~= mgr then
    redis.call('ZREM', K('mgr', mgr, 'convs'), cid) -- stale index entry
  end
end
return n
