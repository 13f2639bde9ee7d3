-- clear_active.lua: forgets a manager's active conversation only if it is still the given one
-- (the manager may have switched to another meanwhile).
-- Wrapper: clearActive in staffbot.go.
--
-- KEYS[1]  active-conversation key of one manager (Bot.key("active", manager))
-- ARGV[1]  conversation id
-- returns  1 if forgotten, 0 if the key held another conversation (or none)

if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
