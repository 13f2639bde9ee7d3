-- Closes a conversation assigned to the manager; optionally queues a closing message. The
-- conversation and its transcript expire after the retention period.
-- KEYS[1] {P}:waiting
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] manager
-- ARGV[5] outbound JSON ("" = none)   ARGV[6] transcript line for it   ARGV[7] transcript limit
-- ARGV[8] retention ms
-- returns {status, channel}; status ok | notfound | notyours | closed
local cid, mgr, now = ARGV[3], ARGV[4], ARGV[2]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq', 'ch', 'acct', 'contact')
if not f[1] then return {'notfound', ''} end
if f[1] == 'closed' then return {'closed', f[4]} end
if f[1] ~= 'assigned' or f[2] ~= mgr then return {'notyours', ''} end
local load = redis.call('HINCRBY', K('mgr', mgr), 'load', -1)
if load < 0 then redis.call('HSET', K('mgr', mgr), 'load', 0) end
redis.call('ZREM', K('mgr', mgr, 'convs'), cid)
redis.call('ZREM', K('timers'), 'r|' .. cid .. '|' .. f[3])
redis.call('HSET', ck, 'state', 'closed', 'closed', now)
local contact = K('contact', f[4], f[5], f[6])
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
if ARGV[5] ~= '' then
  redis.call('XADD', K('outbound'), '*', 'o', ARGV[5])
  push_log(cid, ARGV[6], ARGV[7])
end
redis.call('PEXPIRE', ck, ARGV[8])
redis.call('PEXPIRE', K('conv', cid, 'log'), ARGV[8])
redis.call('DEL', K('conv', cid, 'lapsed'))
event('closed', cid, mgr, f[3], '', '', now)
return {'ok', f[4]}
