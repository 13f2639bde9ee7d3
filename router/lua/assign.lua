-- Offers waiting conversations to free lead-managers: priority first, then oldest first.
-- KEYS[1] {P}:waiting
-- ARGV[1] P   ARGV[2] now ms   ARGV[3] strategy   ARGV[4] offer timeout ms
-- ARGV[5] how many queued conversations to look at   ARGV[6] n = number of candidates
-- ARGV[7..] n pairs (manager id, capacity) in config order: lead-managers on shift now
-- A candidate is free when online and its load (offered + assigned) is below capacity. A
-- conversation is never offered to a manager who let it lapse in this round; when every free
-- candidate has, a new round starts.
-- returns a flat list of offers {conversation id, manager, offer seq, first offer 1|0, channel, first_in}
local now = tonumber(ARGV[2])
local strategy = ARGV[3]
local n = tonumber(ARGV[6])
if n == 0 then return {} end
local cands = {}
local free = 0
for i = 0, n - 1 do
  local id = ARGV[7 + 2 * i]
  local cap = tonumber(ARGV[8 + 2 * i])
  local h = redis.call('HMGET', K('mgr', id), 'online', 'load', 'last_offer')
  local c = {id = id, cap = cap, online = (h[1] == '1'), load = num(h[2]), last = num(h[3]), idx = i}
  if c.online and c.load < c.cap then free = free + (c.cap - c.load) end
  cands[#cands + 1] = c
end
if free == 0 then return {} end
local rr = redis.call('GET', K('rr')) or ''
local rridx = -1
for _, c in ipairs(cands) do if c.id == rr then rridx = c.idx end end

local function better(a, b)
  if b == nil then return true end
  if strategy == 'least_busy' then
    if a.load ~= b.load then return a.load < b.load end
    if a.last ~= b.last then return a.last < b.last end
    return a.idx < b.idx
  elseif strategy == 'longest_idle' then
    if a.last ~= b.last then return a.last < b.last end
    return a.idx < b.idx
  else -- round_robin: first after the last offered, in config order
    local da = (a.idx - rridx - 1) % n
    local db = (b.idx - rridx - 1) % n
    return da < db
  end
end

local function pick(lapsed)
  local best = nil
  for _, c in ipairs(cands) do
    if c.online and c.load < c.cap and not lapsed[c.id] and better(c, best) then best = c end
  end
  return best
end

local out = {}
local queue = redis.call('ZRANGE', K('waiting'), 0, tonumber(ARGV[5]) - 1)
for _, cid in ipairs(queue) do
  if free <= 0 then break end
  local ck = K('conv', cid)
  local lapsed = {}
  for _, m in ipairs(redis.call('SMEMBERS', K('conv', cid, 'lapsed'))) do lapsed[m] = true end
  local best = pick(lapsed)
  if not best and next(lapsed) ~= nil then
    redis.call('DEL', K('conv', cid, 'lapsed')) -- everyone free let it lapse: new round
    best = pick({})
  end
  if best then
    redis.call('ZREM', K('waiting'), cid)
    local seq = redis.call('HINCRBY', ck, 'seq', 1)
    local offers = redis.call('HINCRBY', ck, 'offers', 1)
    redis.call('HSET', ck, 'state', 'offered', 'offer_to', best.id, 'offered', now)
    if offers == 1 then redis.call('HSET', ck, 'first_offer', now) end
    redis.call('HINCRBY', K('mgr', best.id), 'load', 1)
    redis.call('HSET', K('mgr', best.id), 'last_offer', now)
    redis.call('ZADD', K('mgr', best.id, 'convs'), now, cid)
    redis.call('SET', K('rr'), best.id)
    redis.call('ZADD', K('timers'), now + tonumber(ARGV[4]), 'o|' .. cid .. '|' .. seq)
    event('offer', cid, best.id, seq, '', '', now)
    best.load = best.load + 1
    best.last = now
    rridx = best.idx
    free = free - 1
    local f = redis.call('HMGET', ck, 'ch', 'first_in')
    out[#out + 1] = cid
    out[#out + 1] = best.id
    out[#out + 1] = seq
    out[#out + 1] = (offers == 1) and 1 or 0
    out[#out + 1] = f[1] or ''
    out[#out + 1] = f[2] or '0'
  end
end
return out
