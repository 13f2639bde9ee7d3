-- set_pos.lua: stores a mailbox's reading position (UIDVALIDITY, last handled UID, the
-- arrival time of that message) only if it moves forward within one UIDVALIDITY, or the
-- UIDVALIDITY changed: a reader that lost its lease mid-batch cannot move it back.
-- Wrapper: setPos in imap.go.
--
-- KEYS[1]  position hash (Keys.Channel(email, mailbox, "pos")): v, u, d
-- ARGV[1]  UIDVALIDITY   ARGV[2] last handled UID   ARGV[3] arrival time (unix seconds)
-- returns  1 stored, 0 kept the stored one

local cur = redis.call('HMGET', KEYS[1], 'v', 'u')
if cur[1] == ARGV[1] and tonumber(cur[2] or '0') >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'u', ARGV[2], 'd', ARGV[3])
return 1
