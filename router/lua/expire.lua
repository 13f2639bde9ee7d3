-- A speed-to-lead timer fired: an offer not accepted in time ("o"), or an accepted
-- conversation without a first human reply in time ("r"). Stale timers (the conversation
-- moved on: other state or newer offer seq) do nothing.
-- KEYS[1] {P}:timers
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] timer kind o|r   ARGV[4] conversation id   ARGV[5] offer seq
-- ARGV[6] max offers before escalation
-- returns {status, manager, channel, escalated 1|0}; status: lapsed | no_reply | stale
local now = ARGV[2]
local cid = ARGV[4]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'seq', 'offer_to', 'mgr', 'replied', 'offers', 'esc', 'ch')
local state, seq = f[1], f[2]
if not state or seq ~= ARGV[5] then return {'stale', '', '', 0} end
local mgr, status, ev
if ARGV[3] == 'o' and state == 'offered' then
  mgr, status, ev = f[3], 'lapsed', 'offer_withdrawn'
elseif ARGV[3] == 'r' and state == 'assigned' and f[5] ~= '1' then
  mgr, status, ev = f[4], 'no_reply', 'released'
else
  return {'stale', '', '', 0}
end
requeue(cid, mgr, now)
redis.call('SADD', K('conv', cid, 'lapsed'), mgr)
redis.call('ZREM', K('timers'), 'r|' .. cid .. '|' .. seq)
event(ev, cid, mgr, seq, status, '', now)
local esc = 0
if num(f[6]) >= tonumber(ARGV[6]) and f[7] ~= '1' then
  redis.call('HSET', ck, 'esc', '1')
  event('escalation', cid, '', seq, 'max_offers', '', now)
  esc = 1
end
return {status, mgr, f[8] or '', esc}
