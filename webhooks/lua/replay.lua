-- Replays up to ARGV[2] dead letters of one endpoint: each is queued again as a new item
-- (attempts from zero, the same webhook-id), due at once.
-- KEYS[1] {P:wh}:dead:<endpoint>   KEYS[2] {P:wh}:due:<endpoint>
-- KEYS[3] {P:wh}:item:<endpoint>: (prefix: the item ids are read from KEYS[1])
-- ARGV[1] now ms   ARGV[2] limit
-- returns {queued, taken}: the items queued again, and the dead letters taken off KEYS[1] (a
-- dead letter whose item expired is only removed); taken < ARGV[2] means none is left
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local n = 0
for _, id in ipairs(ids) do
  local item = KEYS[3] .. id
  redis.call('ZREM', KEYS[1], id)
  if redis.call('HGET', item, 'state') == 'dead' then
    redis.call('PERSIST', item)
    redis.call('HSET', item, 'state', 'pending', 'n', '0')
    redis.call('ZADD', KEYS[2], ARGV[1], id)
    n = n + 1
  end
end
return {n, #ids}
