-- A lead-manager qualifies a conversation assigned to them without a sales handoff (handoff.lua
-- does those): the level is recorded and announced; without sales managers configured, hot and
-- warm are marked handed off (ARGV[5]); a tourist is closed by the caller afterwards.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:events
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] manager   ARGV[4] level hot | warm | tourist
-- ARGV[5] 1: mark hot and warm handed off (no sales tier configured)
-- returns status: ok | notfound | notyours
local ck, events = KEYS[1], KEYS[2]
local now, cid, mgr, level = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq')
if not f[1] then return 'notfound' end
if f[1] ~= 'assigned' or f[2] ~= mgr then return 'notyours' end
redis.call('HSET', ck, 'qual', level, 'qual_at', now, 'qual_by', mgr)
if ARGV[5] == '1' and (level == 'hot' or level == 'warm') then
  redis.call('HSET', ck, 'handed', '1')
end
event(events, 'qualified', cid, mgr, f[3], level, '', now)
return 'ok'
