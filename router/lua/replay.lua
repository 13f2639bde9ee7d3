-- Moves one dead-lettered entry back to its source stream (a supervisor's replay): the entry
-- is re-added with its own fields (the dead_* fields dropped) and replay_of = the id it had
-- in the source stream, which the handlers use as the entry's identity (the inbound applier's
-- done marker, the event id), so an entry applied before it died is not applied twice; then
-- it is deleted from the dead-letter stream, so two replays cannot both re-add it.
-- KEYS[1] the dead-letter stream   KEYS[2] its source stream (same slot)
-- ARGV[1] dead-letter entry id
-- returns the new entry id, or '' when there is no such dead-letter entry
local dead, src = KEYS[1], KEYS[2]
local e = redis.call('XRANGE', dead, ARGV[1], ARGV[1])
if #e == 0 then return '' end
local fields = e[1][2]
local out = {}
local orig, replayOf = '', ''
for i = 1, #fields, 2 do
  local k, v = fields[i], fields[i + 1]
  if k == 'dead_from_id' then orig = v
  elseif k == 'replay_of' then replayOf = v
  elseif string.sub(k, 1, 5) ~= 'dead_' then
    out[#out + 1] = k
    out[#out + 1] = v
  end
end
if replayOf == '' then replayOf = orig end
if replayOf ~= '' then
  out[#out + 1] = 'replay_of'
  out[#out + 1] = replayOf
end
local id = redis.call('XADD', src, '*', unpack(out))
redis.call('XDEL', dead, ARGV[1])
return id
