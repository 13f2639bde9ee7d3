-- touch.lua: records the time of a customer's message in a messaging-window key, keeping the
-- latest one (Meta retries and batches can deliver older messages after newer ones).
-- Wrapper: touch in window.go.
--
-- KEYS[1]  window key (Window.key: one contact of one channel account)
-- ARGV[1]  unix ms of the message
-- ARGV[2]  TTL of the key, ms
-- returns  the stored (latest) unix ms

local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = tonumber(ARGV[1])
if at > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return at
end
return cur
