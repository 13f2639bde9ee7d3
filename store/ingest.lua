-- KEYS[1] dedupe marker, KEYS[2] inbound stream
-- ARGV[1] marker TTL in ms, ARGV[2] payload
-- returns {entry id, 0} stored | {original entry id, 1} duplicate
local seen = redis.call('GET', KEYS[1])
if seen then
  return {seen, 1}
end
local id = redis.call('XADD', KEYS[2], '*', 'm', ARGV[2])
redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
return {id, 0}
