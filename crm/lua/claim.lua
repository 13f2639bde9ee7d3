-- Claims the creation of a lead's CRM record: the in-flight marker holds the time (ms) an
-- attempt started, or 0 once an attempt failed (its answer may have been lost: the record may
-- exist). A marker younger than stale ms belongs to an attempt still running elsewhere.
-- KEYS[1] {P}:crm:<name>:try:<conv>
-- ARGV[1] now ms   ARGV[2] stale ms
-- returns new (no earlier attempt) | stale (an earlier attempt failed or died: look the record
--   up before creating) | busy (another attempt is running)
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1])
  return 'new'
end
if tonumber(v) == 0 or tonumber(ARGV[1]) - tonumber(v) >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 'stale'
end
return 'busy'
