-- Retention: erases closed conversations whose retention ran out (router.retention after
-- closing, on the router's clock), at most ARGV[2] per call, and queues their forget jobs
-- (see erase.lua). Each instance calls it every timer_interval; a conversation is retired once.
-- KEYS[1] {P}:expiry (zset: conversation id, score = deadline ms)   KEYS[2] {P}:forget
-- KEYS[3] {P}:conv: (prefix: the due conversation ids are read from KEYS[1])
-- ARGV[1] now ms   ARGV[2] batch limit
-- returns the number of conversations retired
local expiry, forget, convs = KEYS[1], KEYS[2], KEYS[3]
local now = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for _, cid in ipairs(due) do
  redis.call('ZREM', expiry, cid)
  local c = conv_keys(convs, cid)
  local f = redis.call('HMGET', c.conv, 'state', 'ch', 'acct', 'contact')
  if f[1] == 'closed' then
    redis.call('DEL', c.conv, c.log, c.meta, c.lapsed)
    forget_job(forget, cid, f[2], f[3], f[4], now)
    n = n + 1
  end
end
return n
