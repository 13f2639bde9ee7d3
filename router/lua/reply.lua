-- A lead-manager's human reply (or a form lead marked contacted): stops the first-response
-- timer and, unless ARGV[6] is empty, queues the message for the channel.
-- KEYS[1] {P}:timers
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] manager
-- ARGV[5] transcript line JSON   ARGV[6] outbound JSON ("" = nothing to send: contacted)
-- ARGV[7] transcript limit
-- returns {status, first reply 1|0, accepted ms, first inbound ms, channel}; status ok | notfound | notyours | closed
local cid, mgr, now = ARGV[3], ARGV[4], ARGV[2]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq', 'replied', 'accepted', 'first_in', 'ch')
if not f[1] then return {'notfound', 0, 0, 0, ''} end
if f[1] == 'closed' then return {'closed', 0, 0, 0, ''} end
if f[1] ~= 'assigned' or f[2] ~= mgr then return {'notyours', 0, 0, 0, ''} end
local first = 0
if f[4] ~= '1' then
  first = 1
  redis.call('HSET', ck, 'replied', '1', 'first_reply_by', mgr)
  redis.call('ZREM', K('timers'), 'r|' .. cid .. '|' .. f[3])
end
push_log(cid, ARGV[5], ARGV[7])
if ARGV[6] ~= '' then
  redis.call('XADD', K('outbound'), '*', 'o', ARGV[6])
elseif not redis.call('HGET', ck, 'first_reply') then
  redis.call('HSET', ck, 'first_reply', now) -- contacted off-channel: speed-to-lead ends now
end
return {'ok', first, f[5] or 0, f[6] or 0, f[7] or ''}
