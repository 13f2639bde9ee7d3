-- Moves due timers to the fired stream, at most ARGV[2] per call, so each fires exactly once
-- even with several gateway processes (the fired stream is then consumed at least once and
-- its handler is idempotent by offer seq).
-- KEYS[1] {P}:timers   KEYS[2] {P}:fired
-- ARGV[1] now ms   ARGV[2] batch limit
-- returns the number of timers moved
local timers, fired = KEYS[1], KEYS[2]
local due = redis.call('ZRANGEBYSCORE', timers, '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for i = 1, #due, 2 do
  redis.call('ZREM', timers, due[i])
  redis.call('XADD', fired, '*', 'id', due[i], 'due', due[i + 1])
  n = n + 1
end
return n
