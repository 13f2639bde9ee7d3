-- Records the answer to one delivery attempt, if the deliverer still holds the item's claim.
-- KEYS[1] {P:wh}:due:<endpoint>   KEYS[2] {P:wh}:dead:<endpoint>
-- KEYS[3] {P:wh}:item:<endpoint>:<webhook-id>   KEYS[4] {P:wh}:ep:<endpoint>
-- ARGV[1] webhook-id   ARGV[2] claim token   ARGV[3] outcome:
--   delivered  a 2xx answer: the item is kept ARGV[6] s as a marker (a re-read entry is not queued again)
--   retry      due again at ARGV[5] ms
--   dead       dead-lettered (kept ARGV[6] s for a replay)
--   gone       a 410 answer: dead-lettered and the endpoint disabled
--   dropped    the lead was erased: nothing is sent (kept ARGV[6] s as a marker)
-- ARGV[4] now ms   ARGV[5] next due ms (retry)   ARGV[6] ttl seconds   ARGV[7] attempts made
-- ARGV[8] last answer (an HTTP status, timeout or network)
-- returns 1 (2 when a 410 disabled the endpoint just now), or 0 when the claim was lost: the lease ended and another deliverer took the
-- item (its answer is the one that counts).
local due, dead, item, ep = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, outcome, now = ARGV[1], ARGV[3], ARGV[4]
if redis.call('HGET', item, 'claim') ~= ARGV[2] or redis.call('HGET', item, 'state') ~= 'pending' then
  return 0
end
redis.call('HSET', item, 'n', ARGV[7], 'last', ARGV[8])
if outcome == 'retry' then
  redis.call('ZADD', due, ARGV[5], id)
  return 1
end
redis.call('ZREM', due, id)
if outcome == 'delivered' or outcome == 'dropped' then
  redis.call('HSET', item, 'state', outcome)
elseif outcome == 'dead' or outcome == 'gone' then
  redis.call('HSET', item, 'state', 'dead')
  redis.call('ZADD', dead, now, id)
  if outcome == 'gone' and redis.call('HGET', ep, 'disabled') ~= '1' then
    redis.call('HSET', ep, 'disabled', '1', 'disabled_at', now, 'status', ARGV[8])
    redis.call('EXPIRE', item, tonumber(ARGV[6]))
    return 2
  end
else
  return redis.error_reply('settle: unknown outcome ' .. outcome)
end
redis.call('EXPIRE', item, tonumber(ARGV[6]))
return 1
