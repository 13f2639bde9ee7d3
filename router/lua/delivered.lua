-- The channel accepted an outbound message. Records the channel message id (for delivery
-- statuses) and, for the first human reply, the end of speed-to-lead.
-- KEYS[1] {P}:seq (slot anchor)
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] outbound id   ARGV[5] human 1|0
-- ARGV[6] channel   ARGV[7] account   ARGV[8] channel message id ("" if none)   ARGV[9] manager
-- ARGV[10] ref TTL ms
-- returns {first human reply 1|0, first inbound ms}
local cid = ARGV[3]
redis.call('SET', K('out', ARGV[4]), 'sent', 'PX', ARGV[10])
if ARGV[8] ~= '' then
  redis.call('SET', K('outref', ARGV[6], ARGV[7], ARGV[8]), cid .. '|' .. ARGV[4] .. '|' .. ARGV[9], 'PX', ARGV[10])
end
if ARGV[5] == '1' then
  local ck = K('conv', cid)
  if redis.call('EXISTS', ck) == 1 and not redis.call('HGET', ck, 'first_reply') then
    redis.call('HSET', ck, 'first_reply', ARGV[2])
    return {1, redis.call('HGET', ck, 'first_in') or 0}
  end
end
return {0, 0}
