-- A speed-to-lead timer fired: an offer not accepted in time ("o"), or an accepted
-- conversation without a first human reply in time ("r"). Stale timers (the conversation
-- moved on: other state or newer offer seq) do nothing.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:lapsed   KEYS[3] {P}:waiting   KEYS[4] {P}:timers
-- KEYS[5] {P}:events
-- KEYS[6] {P}:mgr: (prefix: the manager holding the offer or the conversation is read from it)
-- KEYS[7] {P}:conv:<id>:tl   KEYS[8] {P}:timeline: stages offer_lapsed {reason timeout},
--         released {reason no_reply}, escalated
-- ARGV[1] now ms   ARGV[2] timer kind o|r   ARGV[3] conversation id   ARGV[4] offer seq
-- ARGV[5] max offers before escalation
-- returns {status, manager, channel, escalated 1|0}; status: lapsed | no_reply | stale
local ck, lapsed, waiting, timers, events, mgrs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now, kind, cid = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'seq', 'offer_to', 'mgr', 'replied', 'offers', 'esc', 'ch')
local state, seq = f[1], f[2]
if not state or seq ~= ARGV[4] then return {'stale', '', '', 0} end
local mgr, status, ev
if kind == 'o' and state == 'offered' then
  mgr, status, ev = f[3], 'lapsed', 'offer_withdrawn'
elseif kind == 'r' and state == 'assigned' and f[5] ~= '1' then
  mgr, status, ev = f[4], 'no_reply', 'released'
else
  return {'stale', '', '', 0}
end
local mk = nil
if mgr and mgr ~= '' then mk = mgr_keys(mgrs, mgr) end
requeue(ck, waiting, cid, mk)
redis.call('SADD', lapsed, mgr)
redis.call('ZREM', timers, 'r|' .. cid .. '|' .. seq)
event(events, ev, cid, mgr, seq, status, '', now)
if status == 'lapsed' then
  timeline(KEYS[7], KEYS[8], cid, 'offer_lapsed', mgr, {reason = 'timeout'}, now)
else
  timeline(KEYS[7], KEYS[8], cid, 'released', mgr, {reason = 'no_reply'}, now)
end
local esc = 0
if num(f[6]) >= tonumber(ARGV[5]) and f[7] ~= '1' then
  redis.call('HSET', ck, 'esc', '1')
  event(events, 'escalation', cid, '', seq, 'max_offers', '', now)
  timeline(KEYS[7], KEYS[8], cid, 'escalated', '', nil, now)
  esc = 1
end
return {status, mgr, f[8] or '', esc}
