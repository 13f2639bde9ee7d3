-- touch.lua: records the time of a customer's message in a messaging-window key, keeping the
-- latest one (Meta retries and batches can deliver older messages after newer ones). The key
-- holds "L" (unix ms of the latest message) or "L:C" once Meta reported the window closed at C
-- (see window_close.lua). A message newer than the closing report reopens the window; an older
-- one leaves it closed.
-- Wrapper: touch in window.go.
--
-- KEYS[1]  window key (Window.key: one contact of one channel account)
-- ARGV[1]  unix ms of the message
-- ARGV[2]  TTL of the key, ms
-- returns  the stored (latest) unix ms

local v = redis.call('GET', KEYS[1]) or ''
local cur = tonumber(string.match(v, '^(%d+)') or '0')
local closed = tonumber(string.match(v, ':(%d+)$') or '0')
local at = tonumber(ARGV[1])
if at > cur then
  if closed > at then
    redis.call('SET', KEYS[1], ARGV[1] .. ':' .. closed, 'PX', ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
  return at
end
return cur
