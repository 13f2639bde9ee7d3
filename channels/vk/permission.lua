-- Records whether a VK user may be written to, once per callback event and keeping only the
-- newest state: VK retries a callback until it is answered "ok", and a retry of an older
-- event (message_deny delivered again after a newer message_allow) changes nothing.
-- KEYS[1]  the user's permission key (a string "<state>:<time ms>")
-- KEYS[2]  the event's dedupe marker, or the same key as KEYS[1] when there is no event id
-- ARGV[1]  state: "d" (denied) or "a" (allowed, or wrote to the community)
-- ARGV[2]  the event's time, epoch ms
-- ARGV[3]  TTL of both keys, ms
-- Returns 1 when recorded, 0 for a duplicate event or one older than the recorded state.
if KEYS[2] ~= KEYS[1] then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) == false then
    return 0
  end
end
local cur = redis.call('GET', KEYS[1])
if cur then
  local at = tonumber(string.match(cur, ':(%d+)$'))
  if at and at > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
