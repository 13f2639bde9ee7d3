-- Deduplicates inbound items and appends the new ones to the inbound stream, in one step:
-- a batch of items shares one script run (concurrent webhooks share the round trip and the
-- script's fixed cost), and every item is handled in order, as if alone.
-- KEYS[1]    {P:in}:inbound                               the inbound stream
-- KEYS[1+i]  {P:in}:dedupe:<channel>:<acct>:<pseudonym>   item i's dedupe marker (i = 1..n)
-- ARGV[2i-1] item i's marker TTL ms (at least 1)
-- ARGV[2i]   item i's payload (JSON of channels.Inbound)
-- returns {id_1, dup_1, ..., id_n, dup_n}: the new entry id and 0 for an item stored, the
-- original entry id and 1 for a duplicate (also of an earlier item of the same run)
local out = {}
for i = 1, #KEYS - 1 do
  local marker = KEYS[i + 1]
  local seen = redis.call('GET', marker)
  if seen then
    out[2 * i - 1] = seen
    out[2 * i] = 1
  else
    local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[2 * i])
    redis.call('SET', marker, id, 'PX', ARGV[2 * i - 1])
    out[2 * i - 1] = id
    out[2 * i] = 0
  end
end
return out
