-- claim_template.lua: lets one outbound message send the re-engagement template to a contact
-- once per window (a retry of the same outbound may send it again).
-- Wrapper: claimTemplate in whatsappcloud.go.
--
-- KEYS[1]  template marker (Channel.templateKey: one contact of one phone number)
-- ARGV[1]  outbound id
-- ARGV[2]  TTL of the marker, ms
-- returns  1 if this outbound may send the template, 0 if another one already did

local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 0
