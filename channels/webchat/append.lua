-- Appends one event to a chat session's history, once per dedupe field, and wakes the
-- session's open streams.
-- KEYS[1] the session's history stream   KEYS[2] the session's hash of dedupe fields
-- ARGV[1] dedupe field (c:<client message id> or o:<outbound id>)   ARGV[2] the event (JSON)
-- ARGV[3] history limit (entries)   ARGV[4] TTL ms   ARGV[5] Pub/Sub channel   ARGV[6] session id
-- returns {entry id, 1 if the field was seen before (nothing appended) else 0}
local id = redis.call('HGET', KEYS[2], ARGV[1])
if id then
  return {id, 1}
end
id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'e', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {id, 0}
