-- A supervisor queues a failed outbound message again, under the same outbound id: its
-- failed status is cleared (the sender skips an id with a status) and the message goes back
-- on the outbound stream. Appends the action to the audit stream.
-- KEYS[1] {P}:out:<outbound id>   KEYS[2] {P}:conv:<id>   KEYS[3] {P}:outbound   KEYS[4] {P}:audit
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] outbound id   ARGV[4] outbound JSON
-- ARGV[5] supervisor
-- returns status: ok | notfound (no such conversation) | notfailed (the message has not failed,
-- or was resent already)
local outk, ck, outbound, audit = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cid = ARGV[1], ARGV[2]
if redis.call('EXISTS', ck) == 0 then return 'notfound' end
if redis.call('GET', outk) ~= 'failed' then return 'notfailed' end
redis.call('DEL', outk)
redis.call('XADD', outbound, '*', 'o', ARGV[4])
redis.call('XADD', audit, 'MAXLEN', '~', 100000, '*', 'at', now, 'by', ARGV[5], 'action', 'resend',
  'lead', cid, 'manager', '', 'detail', 'outbound=' .. ARGV[3])
return 'ok'
