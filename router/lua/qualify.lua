-- A lead-manager qualifies a conversation assigned to them: hot and warm are handed off to
-- sales (recorded and announced), a tourist is closed by the caller afterwards.
-- KEYS[1] {P}:seq (slot anchor)
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] conversation id   ARGV[4] manager   ARGV[5] level
-- returns status: ok | notfound | notyours
local cid, mgr, now = ARGV[3], ARGV[4], ARGV[2]
local ck = K('conv', cid)
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq')
if not f[1] then return 'notfound' end
if f[1] ~= 'assigned' or f[2] ~= mgr then return 'notyours' end
redis.call('HSET', ck, 'qual', ARGV[5], 'qual_at', now, 'qual_by', mgr)
if ARGV[5] == 'hot' or ARGV[5] == 'warm' then
  redis.call('HSET', ck, 'handed', '1')
end
event('qualified', cid, mgr, f[3], ARGV[5], '', now)
return 'ok'
