-- set_offset.lua: stores a bot's getUpdates offset only if it moves forward, so a poller that
-- lost its lease mid-batch can never move it back.
-- Wrapper: setOffset in poller.go.
--
-- KEYS[1]  offset key (one bot: Keys.Channel(telegram, bot, "offset"))
-- ARGV[1]  new offset
-- returns  1 stored, 0 kept the higher one

local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
