-- A phone call with the customer (channels.KindCall, applied by applyCall in router/calls.go):
-- a call in which somebody of the team spoke to the customer ends speed-to-lead at the
-- moment it connected, and a known lead-manager takes a waiting or offered conversation
-- (an offer to somebody else is withdrawn, reason "taken"); a manager's call that did not
-- connect is only written on the transcript. Never opens a conversation (process.lua does,
-- for the customer's own call, just before). Idempotent per stream entry.
-- KEYS[1] {P}:done:<inbound entry id>:call   KEYS[2] {P}:contact:<channel>:<acct>:<contact id>
-- KEYS[3] {P}:waiting   KEYS[4] {P}:timers   KEYS[5] {P}:events
-- KEYS[6] {P}:conv: (prefix: the conversation id is read from KEYS[2])
-- KEYS[7] {P}:mgr: (prefix: the manager offered the conversation, and ARGV[6]'s keys)
-- KEYS[8] {P}:timeline: stages replied {call 1} (first contact), offer_lapsed {reason taken},
--         accepted {call 1} (lists completed from KEYS[6])
-- ARGV[1] now ms   ARGV[2] done-marker TTL ms
-- ARGV[3] transcript line JSON ("" = none: process.lua wrote the customer's call)
-- ARGV[4] transcript limit   ARGV[5] connected 1|0
-- ARGV[6] lead-manager who spoke to the customer ("" = unknown)   ARGV[7] connected at ms
-- returns {status, conversation id, first contact 1|0, first inbound ms, channel, state}
--   status: "ok" | "dup" (entry already applied) | "ignored" (no open conversation)
local done, contact, waiting, timers, events, convs, mgrs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, mgr = ARGV[1], ARGV[6]
if not redis.call('SET', done, '1', 'NX', 'PX', ARGV[2]) then
  return {'dup', 0, 0, 0, '', ''}
end
local cid = redis.call('GET', contact)
if not cid then return {'ignored', 0, 0, 0, '', ''} end
local c = conv_keys(convs, cid)
local f = redis.call('HMGET', c.conv, 'state', 'seq', 'offer_to', 'first_reply', 'first_in', 'ch')
local state, seq = f[1], f[2]
if not state or state == 'closed' then return {'ignored', 0, 0, 0, '', ''} end
if ARGV[3] ~= '' then push_log(c.log, ARGV[3], ARGV[4]) end
if ARGV[5] ~= '1' then return {'ok', cid, 0, 0, f[6] or '', state} end
local first = 0
if not f[4] then
  first = 1
  redis.call('HSET', c.conv, 'replied', '1', 'first_reply', ARGV[7])
  if mgr ~= '' then redis.call('HSET', c.conv, 'first_reply_by', mgr) end
  redis.call('ZREM', timers, 'r|' .. cid .. '|' .. seq)
end
if mgr ~= '' and (state == 'waiting' or state == 'offered') then
  local mk = mgr_keys(mgrs, mgr)
  if state == 'waiting' then
    redis.call('ZREM', waiting, cid)
  else
    redis.call('ZREM', timers, 'o|' .. cid .. '|' .. seq)
  end
  if state == 'offered' and f[3] == mgr then
    -- the offer was theirs: their load already counts it
  else
    if state == 'offered' and f[3] and f[3] ~= '' then
      unload(mgr_keys(mgrs, f[3]), cid)
      event(events, 'offer_withdrawn', cid, f[3], seq, 'taken', '', now)
      timeline(c.tl, KEYS[8], cid, 'offer_lapsed', f[3], {reason = 'taken'}, now)
    end
    redis.call('HINCRBY', mk.mgr, 'load', 1)
  end
  redis.call('ZADD', mk.convs, now, cid)
  redis.call('HSET', c.conv, 'state', 'assigned', 'mgr', mgr, 'offer_to', '', 'accepted', now)
  event(events, 'assigned', cid, mgr, seq, 'call', '', now)
  timeline(c.tl, KEYS[8], cid, 'accepted', mgr, {call = '1'}, now)
  state = 'assigned'
end
if first == 1 then timeline(c.tl, KEYS[8], cid, 'replied', mgr, {call = '1'}, ARGV[7]) end
return {'ok', cid, first, f[5] or 0, f[6] or '', state}
