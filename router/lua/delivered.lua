-- The channel accepted an outbound message. Records the channel message id (for delivery
-- statuses) and, for the first human reply, the end of speed-to-lead.
-- KEYS[1] {P}:out:<outbound id>   KEYS[2] {P}:outref:<channel>:<acct>:<channel message id>
-- KEYS[3] {P}:conv:<id>   KEYS[4] {P}:conv:<id>:tl   KEYS[5] {P}:timeline: stage replied (the first
--         human reply delivered, credited to ARGV[6])
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] outbound id   ARGV[4] human 1|0
-- ARGV[5] channel message id ("" if none: KEYS[2] is then not written)   ARGV[6] manager
-- ARGV[7] ref TTL ms   ARGV[8] pending 1|0: the customer has not received it yet (a website
-- chat's outbox): a human reply's speed-to-lead ends at its delivered status, and the ref
-- remembers that it is one ("|h")
-- returns {first human reply 1|0, first inbound ms}
local outk, ref, ck = KEYS[1], KEYS[2], KEYS[3]
local now, cid = ARGV[1], ARGV[2]
redis.call('SET', outk, 'sent', 'PX', ARGV[7])
local pending = ARGV[8] == '1' and ARGV[5] ~= ''
if ARGV[5] ~= '' then
  local v = cid .. '|' .. ARGV[3] .. '|' .. ARGV[6]
  if pending and ARGV[4] == '1' then
    v = v .. '|h'
  end
  redis.call('SET', ref, v, 'PX', ARGV[7])
end
if ARGV[4] == '1' and not pending then
  if redis.call('EXISTS', ck) == 1 and not redis.call('HGET', ck, 'first_reply') then
    redis.call('HSET', ck, 'first_reply', now)
    timeline(KEYS[4], KEYS[5], cid, 'replied', ARGV[6], nil, now)
    return {1, redis.call('HGET', ck, 'first_in') or 0}
  end
end
return {0, 0}
