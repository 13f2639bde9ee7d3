-- Stores the CRM record id of a lead once the CRM accepted it, in both directions, and clears
-- the in-flight marker. The first id stored wins: a second record made by a racing attempt
-- is reported so the caller can log it (it never overwrites the first).
-- KEYS[1] {P}:crm:<name>:lead:<conv>   KEYS[2] {P}:crm:<name>:ext:<id>   KEYS[3] {P}:crm:<name>:try:<conv>
-- ARGV[1] CRM record id   ARGV[2] conversation id
-- returns the stored record id (ARGV[1], or the one stored before)
local cur = redis.call('GET', KEYS[1])
if cur then
  redis.call('DEL', KEYS[3])
  return cur
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
return ARGV[1]
