-- Retention: erases closed conversations whose retention ran out (router.retention after
-- closing, on the router's clock), at most ARGV[2] per call, and queues their forget jobs
-- (see erase.lua). Each instance calls it every timer_interval; a conversation is retired once.
-- KEYS[1] {P}:expiry (zset: conversation id, score = deadline ms)   KEYS[2] {P}:forget
-- KEYS[3] {P}:conv: (prefix: the due conversation ids are read from KEYS[1])
-- KEYS[4] {P}:hist: (prefix of the contact indexes the conversation leaves, completed with
--         its contact, phone and e-mail pseudonyms)
-- KEYS[5] {P}:leads (a retired lead leaves it with its timeline {P}:conv:<id>:tl)
-- KEYS[6] {P}:sales:open (a retired lead leaves the stale report)
-- ARGV[1] now ms   ARGV[2] batch limit
-- returns the number of conversations retired
local expiry, forget, convs, hists = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local n = 0
for _, cid in ipairs(due) do
  redis.call('ZREM', expiry, cid)
  local c = conv_keys(convs, cid)
  local f = redis.call('HMGET', c.conv, 'state', 'ch', 'acct', 'contact', 'hc', 'ph', 'eh')
  if f[1] == 'closed' then
    for _, k in ipairs(hist_keys(hists, f[2], f[3], f[5], f[6], f[7])) do redis.call('ZREM', k, cid) end
    redis.call('DEL', c.conv, c.log, c.meta, c.lapsed, c.card, c.tl, c.sskip)
    redis.call('ZREM', KEYS[5], cid)
    redis.call('ZREM', KEYS[6], cid)
    forget_job(forget, cid, f[2], f[3], f[4], now)
    n = n + 1
  end
end
return n
