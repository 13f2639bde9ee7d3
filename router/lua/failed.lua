-- An outbound message failed for good (at send time, or later by a delivery status).
-- KEYS[1] {P}:out:<outbound id>   KEYS[2] {P}:conv:<id>   KEYS[3] {P}:conv:<id>:log   KEYS[4] {P}:events
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] outbound id   ARGV[4] manager ("" = automatic)
-- ARGV[5] reason (safe to show)   ARGV[6] transcript line JSON   ARGV[7] transcript limit   ARGV[8] ref TTL ms
-- returns 1 when recorded, 0 when this failure was already recorded
local outk, ck, logk, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cid = ARGV[1], ARGV[2]
if not redis.call('SET', outk, 'failed', 'PX', ARGV[8], 'NX') then
  if redis.call('GET', outk) == 'failed' then return 0 end
  redis.call('SET', outk, 'failed', 'PX', ARGV[8])
end
if redis.call('EXISTS', ck) == 1 then
  push_log(logk, ARGV[6], ARGV[7])
end
if ARGV[4] ~= '' then
  event(events, 'send_failure', cid, ARGV[4], 0, ARGV[5], ARGV[3], now)
else
  event(events, 'escalation', cid, '', 0, 'send_failure', ARGV[5], now)
end
return 1
