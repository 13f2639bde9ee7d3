-- Moves due timers to the fired stream, at most ARGV[3] per call, so each fires exactly once
-- even with several gateway processes (the fired stream is then consumed at least once and
-- its handler is idempotent by offer seq).
-- KEYS[1] {P}:timers
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] batch limit
-- returns the number of timers moved
local due = redis.call('ZRANGEBYSCORE', K('timers'), '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for i = 1, #due, 2 do
  redis.call('ZREM', K('timers'), due[i])
  redis.call('XADD', K('fired'), '*', 'id', due[i], 'due', due[i + 1])
  n = n + 1
end
return n
