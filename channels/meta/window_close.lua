-- window_close.lua: marks a messaging window closed at a report time (e.g. WhatsApp error
-- 131047), but only when the report is newer than the customer's latest message: Meta does
-- not deliver webhooks in order, and a stale failure must not close a window the customer has
-- opened again since. The key keeps its TTL.
-- Wrapper: closeWindow in window.go.
--
-- KEYS[1]  window key (Window.key: one contact of one channel account)
-- ARGV[1]  unix ms of the report
-- returns  1 closed, 0 ignored (no message on record, or the customer wrote after the report)

local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local cur = tonumber(string.match(v, '^(%d+)') or '0')
local closed = tonumber(string.match(v, ':(%d+)$') or '0')
local at = tonumber(ARGV[1])
if at <= cur then return 0 end
if at < closed then at = closed end
redis.call('SET', KEYS[1], string.format('%d:%d', cur, at), 'KEEPTTL')
return 1
