-- Puts deferred outbound messages whose deadline has passed back on the outbound stream, at
-- most ARGV[2] per call, each exactly once even with several instances.
-- KEYS[1] {P}:deferred   KEYS[2] {P}:outbound
-- ARGV[1] now ms   ARGV[2] batch limit
-- returns the number of messages re-queued
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local sep = string.find(m, '|', 1, true)
  redis.call('XADD', KEYS[2], '*', 'o', string.sub(m, sep + 1), 'd', string.sub(m, 1, sep - 1))
end
return #due
