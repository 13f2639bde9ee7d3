-- Numbers a conversation's outbound messages while the conversation exists: a plain HINCRBY
-- on a conversation erased meanwhile would bring its hash back (without TTL).
-- KEYS[1] {P}:conv:<id>
-- no ARGV
-- returns the new number, or 0 if the conversation is gone
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'out_seq', 1)
