-- claim_private_reply.lua: takes the one private reply of a comment for an outbound message.
-- Wrapper: claimPrivateReply in instagram.go.
--
-- KEYS[1]  private reply key (Channel.privateReplyKey: "pending" while unused; expires 7 days
--          after the comment)
-- ARGV[1]  outbound id
-- returns  1 if this outbound owns the private reply (also on its own retry), 0 if another
--          outbound used it or it is no longer available

local v = redis.call('GET', KEYS[1])
if v == 'pending' then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
if v == ARGV[1] then return 1 end
return 0
