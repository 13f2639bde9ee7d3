-- Extends a lease only if the caller still owns it.
-- KEYS[1] the lease key (Keys.Lease or Keys.Channel)
-- ARGV[1] owner token   ARGV[2] TTL ms
-- returns 1 renewed | 0 not ours
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
