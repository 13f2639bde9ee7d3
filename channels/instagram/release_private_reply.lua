-- release_private_reply.lua: gives a comment's private reply back after a permanent failure of
-- the outbound message that claimed it.
-- Wrapper: releasePrivateReply in instagram.go.
--
-- KEYS[1]  private reply key (Channel.privateReplyKey)
-- ARGV[1]  outbound id
-- returns  1 if released, 0 if that outbound did not hold it

if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'pending', 'KEEPTTL')
  return 1
end
return 0
