-- Records whether a Viber user may be written to, keeping only the newest event: a callback
-- Viber delivers late (a retried "unsubscribed" after a newer message) changes nothing.
-- KEYS[1]  the user's subscription key (a string "<state>:<event time ms>")
-- ARGV[1]  state: "u" (unsubscribed) or "s" (subscribed, or wrote to the bot)
-- ARGV[2]  the event's time, epoch ms
-- ARGV[3]  TTL of the key, ms
-- Returns 1 when recorded, 0 when an event newer than this one is already recorded.
local cur = redis.call('GET', KEYS[1])
if cur then
  local at = tonumber(string.match(cur, ':(%d+)$'))
  if at and at > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
