-- A supervisor offers a lead to a chosen lead-manager at once, taking it from its holder: an
-- offer is withdrawn (offer_withdrawn, reason reassigned), an accepted lead is released
-- (released, reason reassigned), a waiting one leaves the queue. The new offer is an ordinary
-- offer (offer timeout, pass, lapse and re-offer as usual). The target's capacity may be
-- exceeded (the supervisor decides; the queue offers them nothing more until their load is
-- below it again); the target must be online. Appends the action to the audit stream.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:waiting   KEYS[3] {P}:timers   KEYS[4] {P}:events
-- KEYS[5] {P}:mgr: (prefix: the current holder is read from the conversation)
-- KEYS[6] {P}:mgr:<target>   KEYS[7] {P}:mgr:<target>:convs   KEYS[8] {P}:audit
-- KEYS[9] {P}:conv:<id>:tl   KEYS[10] {P}:timeline: the holder's offer_lapsed or released
--         {reason reassigned, by}, then offered to the target {reassigned_by}
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] target manager   ARGV[4] offer timeout ms
-- ARGV[5] supervisor
-- returns {status, offer seq, first offer 1|0, channel, first_in}; status ok | already (offered
-- or assigned to the target already) | notfound | closed | offline (the target is not online)
local ck, waiting, timers, events, mgrs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local tk = {mgr = KEYS[6], convs = KEYS[7]}
local audit = KEYS[8]
local now, cid, target = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'replied', 'ch', 'first_in')
if not f[1] then return {'notfound', 0, 0, '', 0} end
if f[1] == 'closed' then return {'closed', 0, 0, '', 0} end
if (f[1] == 'offered' and f[2] == target) or (f[1] == 'assigned' and f[3] == target) then
  return {'already', f[4] or 0, 0, '', 0}
end
if redis.call('HGET', tk.mgr, 'online') ~= '1' then return {'offline', 0, 0, '', 0} end
local seq = f[4] or '0'
local from = ''
if f[1] == 'offered' and f[2] and f[2] ~= '' then
  from = f[2]
  unload(mgr_keys(mgrs, from), cid)
  redis.call('ZREM', timers, 'o|' .. cid .. '|' .. seq)
  event(events, 'offer_withdrawn', cid, from, seq, 'reassigned', '', now)
  timeline(KEYS[9], KEYS[10], cid, 'offer_lapsed', from, {reason = 'reassigned', by = ARGV[5]}, now)
elseif f[1] == 'assigned' and f[3] and f[3] ~= '' then
  from = f[3]
  unload(mgr_keys(mgrs, from), cid)
  redis.call('ZREM', timers, 'r|' .. cid .. '|' .. seq)
  event(events, 'released', cid, from, seq, 'reassigned', '', now)
  timeline(KEYS[9], KEYS[10], cid, 'released', from, {reason = 'reassigned', by = ARGV[5]}, now)
end
redis.call('ZREM', waiting, cid)
local nseq = redis.call('HINCRBY', ck, 'seq', 1)
local offers = redis.call('HINCRBY', ck, 'offers', 1)
redis.call('HSET', ck, 'state', 'offered', 'offer_to', target, 'mgr', '', 'offered', now)
if offers == 1 then redis.call('HSET', ck, 'first_offer', now) end
redis.call('HINCRBY', tk.mgr, 'load', 1)
redis.call('HSET', tk.mgr, 'last_offer', now)
redis.call('ZADD', tk.convs, now, cid)
redis.call('ZADD', timers, now + tonumber(ARGV[4]), 'o|' .. cid .. '|' .. nseq)
event(events, 'offer', cid, target, nseq, 'reassigned', '', now)
timeline(KEYS[9], KEYS[10], cid, 'offered', target, {reassigned_by = ARGV[5]}, now)
redis.call('XADD', audit, 'MAXLEN', '~', 100000, '*', 'at', tostring(now), 'by', ARGV[5], 'action', 'reassign',
  'lead', cid, 'manager', target, 'detail', from ~= '' and ('from=' .. from) or '')
return {'ok', nseq, (offers == 1) and 1 or 0, f[6] or '', f[7] or '0'}
