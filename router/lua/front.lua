-- A supervisor moves a waiting lead to the head of the queue: its score becomes one below
-- the lowest in {P}:waiting (it keeps that place until it leaves the queue; a lead queued
-- again later gets its ordinary score). Appends the action to the audit stream.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:waiting   KEYS[3] {P}:audit
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] supervisor
-- returns status: ok | already (at the head already) | notfound | notwaiting
local ck, waiting, audit = KEYS[1], KEYS[2], KEYS[3]
local now, cid = ARGV[1], ARGV[2]
local st = redis.call('HGET', ck, 'state')
if not st then return 'notfound' end
if st ~= 'waiting' or not redis.call('ZSCORE', waiting, cid) then return 'notwaiting' end
local head = redis.call('ZRANGE', waiting, 0, 0, 'WITHSCORES')
if head[1] == cid then return 'already' end
redis.call('ZADD', waiting, tonumber(head[2]) - 1, cid)
redis.call('XADD', audit, 'MAXLEN', '~', 100000, '*', 'at', now, 'by', ARGV[3], 'action', 'front',
  'lead', cid, 'manager', '', 'detail', '')
return 'ok'
