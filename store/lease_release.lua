-- Deletes a lease only if the caller owns it.
-- KEYS[1] the lease key (Keys.Lease or Keys.Channel)
-- ARGV[1] owner token
-- returns 1 released | 0 not ours
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
