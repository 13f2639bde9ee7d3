-- An outbound message failed for good (at send time, or later by a delivery status).
-- KEYS[1] {P}:seq (slot anchor)
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] outbound id   ARGV[5] manager ("" = automatic)
-- ARGV[6] reason (safe to show)   ARGV[7] transcript line JSON   ARGV[8] transcript limit   ARGV[9] ref TTL ms
-- returns 1 when recorded, 0 when this failure was already recorded
if not redis.call('SET', K('out', ARGV[4]), 'failed', 'PX', ARGV[9], 'NX') then
  if redis.call('GET', K('out', ARGV[4])) == 'failed' then return 0 end
  redis.call('SET', K('out', ARGV[4]), 'failed', 'PX', ARGV[9])
end
local cid = ARGV[3]
if redis.call('EXISTS', K('conv', cid)) == 1 then
  push_log(cid, ARGV[7], ARGV[8])
end
if ARGV[5] ~= '' then
  event('send_failure', cid, ARGV[5], 0, ARGV[6], ARGV[4], ARGV[2])
else
  event('escalation', cid, '', 0, 'send_failure', ARGV[6], ARGV[2])
end
return 1
