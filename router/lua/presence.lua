-- A lead-manager goes online or offline. Going offline gives back every offer and every
-- accepted conversation not yet answered; answered conversations stay with the manager.
-- KEYS[1] {P}:mgr:<manager>   KEYS[2] {P}:mgr:<manager>:convs   KEYS[3] {P}:waiting
-- KEYS[4] {P}:timers   KEYS[5] {P}:events
-- KEYS[6] {P}:conv: (prefix: the conversation ids are read from the manager's index)
-- KEYS[7] {P}:timeline: stages offer_lapsed and released {reason offline} (lists completed from KEYS[6])
-- KEYS[8] {P}:audit (optional: a supervisor forced the manager offline)
-- ARGV[1] now ms   ARGV[2] manager   ARGV[3] online 1|0   ARGV[4] 1 for a sales manager: presence only
-- (their leads stay theirs; the caller withdraws their open offers at once: handoff.lua op offline)
-- ARGV[5] the supervisor (with KEYS[8])
-- returns the number of conversations returned to the queue
local mk = {mgr = KEYS[1], convs = KEYS[2]}
local waiting, timers, events, convs = KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now, mgr = ARGV[1], ARGV[2]
redis.call('HSET', mk.mgr, 'online', ARGV[3], 'since', now)
local function audit(n)
  if KEYS[8] then
    redis.call('XADD', KEYS[8], 'MAXLEN', '~', 100000, '*', 'at', now, 'by', ARGV[5], 'action', 'offline',
      'lead', '', 'manager', mgr, 'detail', 'returned=' .. n)
  end
  return n
end
if ARGV[3] == '1' then return 0 end
if ARGV[4] == '1' then return audit(0) end
local n = 0
for _, cid in ipairs(redis.call('ZRANGE', mk.convs, 0, -1)) do
  local c = conv_keys(convs, cid)
  local ck = c.conv
  local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'replied', 'seq')
  if f[1] == 'offered' and f[2] == mgr then
    requeue(ck, waiting, cid, mk)
    redis.call('ZREM', timers, 'o|' .. cid .. '|' .. f[5])
    event(events, 'offer_withdrawn', cid, mgr, f[5], 'offline', '', now)
    timeline(c.tl, KEYS[7], cid, 'offer_lapsed', mgr, {reason = 'offline'}, now)
    n = n + 1
  elseif f[1] == 'assigned' and f[3] == mgr and f[4] ~= '1' then
    requeue(ck, waiting, cid, mk)
    redis.call('ZREM', timers, 'r|' .. cid .. '|' .. f[5])
    event(events, 'released', cid, mgr, f[5], 'offline', '', now)
    timeline(c.tl, KEYS[7], cid, 'released', mgr, {reason = 'offline'}, now)
    n = n + 1
  elseif f[1] ~= 'assigned' or f[3] ~= mgr then
    redis.call('ZREM', mk.convs, cid) -- stale index entry
  end
end
return audit(n)
