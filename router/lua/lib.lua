-- Shared prelude of every router script. Every key lives under the router's hash tag: the
-- caller passes that tag prefix as ARGV[1] (e.g. "{lidorub}:") and one key of the same slot
-- as KEYS[1], so Redis Cluster routes the script to the node owning the slot and every key
-- the script builds from P stays on it.
local P = ARGV[1]
local function K(...) return P .. table.concat({...}, ':') end
local function num(v) return tonumber(v) or 0 end

-- queue score: higher priority first, then older first
local function qscore(prio, first_in)
  return (9 - num(prio)) * 1e13 + num(first_in)
end

-- events stream: t type, c conversation, m manager, s offer seq, r reason, x extra JSON, at ms
local function event(t, c, m, s, r, x, now)
  redis.call('XADD', K('events'), '*', 't', t, 'c', tostring(c), 'm', m or '', 's', tostring(s or 0),
    'r', r or '', 'x', x or '', 'at', tostring(now))
end

local function push_log(cid, msg, limit)
  redis.call('RPUSH', K('conv', cid, 'log'), msg)
  redis.call('LTRIM', K('conv', cid, 'log'), -num(limit), -1)
end

-- take an offered or assigned conversation away from its manager and put it back in the queue
local function requeue(cid, mgr, now)
  local ck = K('conv', cid)
  if mgr and mgr ~= '' then
    local load = redis.call('HINCRBY', K('mgr', mgr), 'load', -1)
    if load < 0 then redis.call('HSET', K('mgr', mgr), 'load', 0) end
    redis.call('ZREM', K('mgr', mgr, 'convs'), cid)
  end
  local f = redis.call('HMGET', ck, 'prio', 'first_in')
  redis.call('HSET', ck, 'state', 'waiting', 'offer_to', '', 'mgr', '')
  redis.call('ZADD', K('waiting'), qscore(f[1], f[2]), cid)
end
