-- A lead-manager's human reply (or a form lead marked contacted): stops the first-response
-- timer and, unless ARGV[5] is empty, queues the message for the channel.
-- A sales manager's reply to a lead they accepted is their first contact (stops first_contact).
-- While a handed-off lead waits for a sales manager (sstate queued or offered) the lead-manager
-- who handed it off (field lm) may reply; the sales state does not change.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:log   KEYS[3] {P}:timers   KEYS[4] {P}:outbound
-- KEYS[5] {P}:conv:<id>:tl   KEYS[6] {P}:timeline: stage replied {contacted 1} when marked contacted
--         (a sent reply's replied stage is written when delivered: delivered.lua)
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] manager   ARGV[4] transcript line JSON
-- ARGV[5] outbound JSON ("" = nothing to send: contacted)   ARGV[6] transcript limit
-- returns {status, first reply 1|0, accepted ms, first inbound ms, channel}; status ok | notfound | notyours | closed
local ck, logk, timers, outbound = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, cid, mgr = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq', 'replied', 'accepted', 'first_in', 'ch', 'sstate', 'sseq', 'lm')
if not f[1] then return {'notfound', 0, 0, 0, ''} end
if f[1] == 'closed' then return {'closed', 0, 0, 0, ''} end
local holder = f[2] or ''
if holder == '' and (f[8] == 'queued' or f[8] == 'offered') then holder = f[10] or '' end -- see process.lua
if f[1] ~= 'assigned' or holder ~= mgr then return {'notyours', 0, 0, 0, ''} end
local first = 0
if f[4] ~= '1' then
  first = 1
  redis.call('HSET', ck, 'replied', '1', 'first_reply_by', mgr)
  redis.call('ZREM', timers, 'r|' .. cid .. '|' .. f[3])
end
if f[8] == 'accepted' then
  redis.call('HSET', ck, 'sstate', 'contacted', 'contacted', now)
  redis.call('ZREM', timers, 'sc|' .. cid .. '|' .. (f[9] or '0'))
  timeline(KEYS[5], KEYS[6], cid, 'contacted', mgr, nil, now)
end
push_log(logk, ARGV[4], ARGV[6])
if ARGV[5] ~= '' then
  redis.call('XADD', outbound, '*', 'o', ARGV[5])
elseif not redis.call('HGET', ck, 'first_reply') then
  redis.call('HSET', ck, 'first_reply', now) -- contacted off-channel: speed-to-lead ends now
  timeline(KEYS[5], KEYS[6], cid, 'replied', mgr, {contacted = '1'}, now)
end
return {'ok', first, f[5] or 0, f[6] or 0, f[7] or ''}
