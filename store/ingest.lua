-- Deduplicates an inbound item and appends it to the inbound stream, in one step.
-- KEYS[1] {P:in}:dedupe:<channel>:<acct>:<message id>   the item's dedupe marker
-- KEYS[2] {P:in}:inbound                               the inbound stream
-- ARGV[1] marker TTL ms (at least 1)   ARGV[2] payload (JSON of channels.Inbound)
-- returns {entry id, 0} stored | {original entry id, 1} duplicate
local seen = redis.call('GET', KEYS[1])
if seen then
  return {seen, 1}
end
local id = redis.call('XADD', KEYS[2], '*', 'm', ARGV[2])
redis.call('SET', KEYS[1], id, 'PX', ARGV[1])
return {id, 0}
