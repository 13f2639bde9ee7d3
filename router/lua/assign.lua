-- Offers waiting conversations to free lead-managers: priority first, then oldest first.
-- KEYS[1] {P}:waiting   KEYS[2] {P}:rr   KEYS[3] {P}:timers   KEYS[4] {P}:events
-- KEYS[5] {P}:conv: (prefix: the conversation ids are read from the queue)
-- KEYS[6] {P}:timeline (stream; each offer's "offered" stage, the list completed from KEYS[5])
-- KEYS[7..] n pairs ({P}:mgr:<id>, {P}:mgr:<id>:convs), one per candidate, in ARGV's order
-- ARGV[1] now ms   ARGV[2] strategy   ARGV[3] offer timeout ms
-- ARGV[4] how many queued conversations to look at   ARGV[5] n = number of candidates
-- ARGV[6..] n pairs (manager id, capacity) in config order: lead-managers on shift now
-- A candidate is free when online and its load (offered + assigned) is below capacity. A
-- conversation is never offered to a manager who let it lapse in this round; when every free
-- candidate has, a new round starts.
-- returns a flat list of offers {conversation id, manager, offer seq, first offer 1|0, channel, first_in}
local waiting, rrk, timers, events, convs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[1])
local strategy = ARGV[2]
local n = tonumber(ARGV[5])
if n == 0 then return {} end
-- nothing queued (most drains: after a close, a pass, the periodic one): stop before
-- reading every candidate
if redis.call('ZCARD', waiting) == 0 then return {} end
local cands = {}
local free = 0
for i = 0, n - 1 do
  local id = ARGV[6 + 2 * i]
  local cap = tonumber(ARGV[7 + 2 * i])
  local mk = {mgr = KEYS[7 + 2 * i], convs = KEYS[8 + 2 * i]}
  local h = redis.call('HMGET', mk.mgr, 'online', 'load', 'last_offer')
  local c = {id = id, cap = cap, mk = mk, online = (h[1] == '1'), load = num(h[2]), last = num(h[3]), idx = i}
  if c.online and c.load < c.cap then free = free + (c.cap - c.load) end
  cands[#cands + 1] = c
end
if free == 0 then return {} end
local rr = redis.call('GET', rrk) or ''
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
local queue = redis.call('ZRANGE', waiting, 0, tonumber(ARGV[4]) - 1)
for _, cid in ipairs(queue) do
  if free <= 0 then break end
  local k = conv_keys(convs, cid)
  local ck = k.conv
  local lapsed = {}
  for _, m in ipairs(redis.call('SMEMBERS', k.lapsed)) do lapsed[m] = true end
  local best = pick(lapsed)
  if not best and next(lapsed) ~= nil then
    redis.call('DEL', k.lapsed) -- everyone free let it lapse: new round
    best = pick({})
  end
  if best then
    redis.call('ZREM', waiting, cid)
    local seq = redis.call('HINCRBY', ck, 'seq', 1)
    local offers = redis.call('HINCRBY', ck, 'offers', 1)
    redis.call('HSET', ck, 'state', 'offered', 'offer_to', best.id, 'offered', now)
    if offers == 1 then redis.call('HSET', ck, 'first_offer', now) end
    redis.call('HINCRBY', best.mk.mgr, 'load', 1)
    redis.call('HSET', best.mk.mgr, 'last_offer', now)
    redis.call('ZADD', best.mk.convs, now, cid)
    redis.call('SET', rrk, best.id)
    redis.call('ZADD', timers, now + tonumber(ARGV[3]), 'o|' .. cid .. '|' .. seq)
    event(events, 'offer', cid, best.id, seq, '', '', now)
    timeline(k.tl, KEYS[6], cid, 'offered', best.id, nil, now)
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
