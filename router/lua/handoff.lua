-- The sales tier's decisions: a handoff, a lapsed offer, a first-contact breach, a rejection,
-- a supervisor's pick, and draining the sales queue. Every decision applies sales.strategy
-- exactly as package ledger's doc says (integer arithmetic) and appends a hash-chained entry
-- to the fairness ledger (not when a drain finds nobody for a lead already waiting).
-- KEYS[1] {P}:conv: (prefix: conversation ids come from ARGV or from the sales queue)
-- KEYS[2] {P}:sales:waiting   KEYS[3] {P}:sales:open   KEYS[4] {P}:sales:rr   KEYS[5] {P}:sales:cw
-- KEYS[6] {P}:timers   KEYS[7] {P}:events   KEYS[8] {P}:ledger   KEYS[9] {P}:ledger:head
-- KEYS[10] {P}:timeline
-- KEYS[11] {P}:mgr: (prefix: the lead-manager and the sales manager holding the lead are read
--          from the conversation)
-- KEYS[12..] n quadruples ({P}:mgr:<id>, {P}:mgr:<id>:convs, {P}:sales:got:<id>,
--          {P}:sales:won:<id>), one per sales manager in ARGV's order
-- ARGV[1] now ms   ARGV[2] op: handoff | drain | lapse | breach | reject | pick | offline
-- ARGV[3] conversation id (drain: how many queued leads to look at)   ARGV[4] actor (handoff: the
--         lead-manager; reject: the sales manager; pick: the supervisor; offline: the sales
--         manager who went offline: their open offers are withdrawn and decided again)
-- ARGV[5] handoff: level; lapse, breach: the timer's sales offer seq; reject: reason id; pick: the
--         chosen sales manager
-- ARGV[6] handoff: note; reject: 1 when the reason is a "not a lead" one
-- ARGV[7] strategy   ARGV[8] accept timeout ms   ARGV[9] conversion window ms
-- ARGV[10] prior won   ARGV[11] prior leads   ARGV[12] conversion floor (thousandths)
-- ARGV[13] max offers before escalation   ARGV[14] n = number of sales managers
-- ARGV[15..] n quadruples (id, capacity, weight, on shift 1|0), every sales manager sorted by id
-- returns {status, chosen sales manager or "", the lead-manager (returned) or offers made (drain,
--         offline)}
-- status: ok | queued | returned | stale | notfound | notyours | conflict
local convs, swaiting, sopen, rrk, cwk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local timers, events, ledgerk, headk, tls, mgrs = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local now, op, cidarg, actor, a5, a6 = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local nnow = tonumber(now)
local strategy = ARGV[7]
local n = tonumber(ARGV[14])

local function i(v) return string.format('%d', v) end

-- the sales managers, read once and updated in memory as leads are offered
local cands = nil
local function load_cands()
  if cands then return cands end
  cands = {}
  local cw = {}
  local raw = redis.call('HGETALL', cwk)
  for j = 1, #raw, 2 do cw[raw[j]] = num(raw[j + 1]) end
  local from = nnow - tonumber(ARGV[9])
  for j = 0, n - 1 do
    local c = {id = ARGV[15 + 4 * j], cap = tonumber(ARGV[16 + 4 * j]), wcfg = tonumber(ARGV[17 + 4 * j]),
      onshift = ARGV[18 + 4 * j] == '1',
      mk = {mgr = KEYS[12 + 4 * j], convs = KEYS[13 + 4 * j]}, got_k = KEYS[14 + 4 * j], won_k = KEYS[15 + 4 * j]}
    local h = redis.call('HMGET', c.mk.mgr, 'online', 'load', 'last_offer')
    c.online, c.load, c.last = h[1] == '1', num(h[2]), num(h[3])
    redis.call('ZREMRANGEBYSCORE', c.got_k, '-inf', '(' .. i(from))
    redis.call('ZREMRANGEBYSCORE', c.won_k, '-inf', '(' .. i(from))
    c.got = redis.call('ZCOUNT', c.got_k, from, '+inf')
    c.won = redis.call('ZCOUNT', c.won_k, from, '+inf')
    c.cw = cw[c.id] or 0
    if strategy == 'best_conversion' then
      local s = math.floor(1000 * (c.won + tonumber(ARGV[10])) / (c.got + tonumber(ARGV[11])))
      c.w = math.max(tonumber(ARGV[12]), s)
    else
      c.w = c.wcfg
    end
    cands[#cands + 1] = c
  end
  return cands
end

-- best_conversion counts as got only the leads a sales manager kept: one they accepted and
-- then rejected or lost by a first-contact breach leaves their got window (before the
-- candidates are read, so the re-decision's ledger entry records the corrected count)
local function ungot(id, cid)
  for j = 0, n - 1 do
    if ARGV[15 + 4 * j] == id then redis.call('ZREM', KEYS[14 + 4 * j], cid) end
  end
end

local function free_any()
  for _, c in ipairs(load_cands()) do
    if c.online and c.onshift and c.load < c.cap then return true end
  end
  return false
end

local function skips(skipmap)
  local any, lapsedonly = false, false
  for _, c in ipairs(cands) do
    local s = ''
    if not c.online then s = 'offline'
    elseif not c.onshift then s = 'off_shift'
    elseif c.load >= c.cap then s = 'at_capacity'
    elseif skipmap[c.id] == 'rejected' then s = 'rejected'
    elseif skipmap[c.id] == 'lapsed' then s = 'lapsed'; lapsedonly = true
    end
    c.skip = s
    if s == '' then any = true end
  end
  return any, lapsedonly
end

local function cands_json()
  local parts = {}
  for _, c in ipairs(cands) do
    parts[#parts + 1] = '{"id":"' .. c.id .. '","load":' .. i(c.load) .. ',"cap":' .. i(c.cap) .. ',"last":' .. i(c.last) ..
      ',"won":' .. i(c.won) .. ',"got":' .. i(c.got) .. ',"w":' .. i(c.w) .. ',"cw":' .. i(c.cw) .. ',"skip":"' .. c.skip .. '"}'
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- appends a ledger entry (package ledger: fields and chain hash) and returns its seq
local function ledger(cid, lm, kind, ptr, cj, chosen, by)
  local h = redis.call('HMGET', headk, 'seq', 'hash')
  local seq = num(h[1]) + 1
  local prev = h[2] or ''
  local hash = redis.sha1hex(table.concat({prev, i(seq), now, cid, lm, kind, strategy, ptr, cj, chosen, by}, '|'))
  redis.call('XADD', ledgerk, '*', 'seq', i(seq), 'at', now, 'lead', cid, 'lm', lm, 'kind', kind, 'strategy', strategy,
    'ptr', ptr, 'cands', cj, 'chosen', chosen, 'by', by, 'prev', prev, 'hash', hash)
  redis.call('HSET', headk, 'seq', i(seq), 'hash', hash)
  return seq
end

-- a > b comparing bytes, as Go does (Lua's < and > on strings follow the server's
-- LC_COLLATE, which would order ids like "s_2" and "s3" differently from ledger.Decide)
local function bytes_gt(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end

-- the strategy's choice among the eligible (skip ""), or nil
local function choose(ptr)
  local best = nil
  if strategy == 'round_robin' then
    local first = nil
    for _, c in ipairs(cands) do
      if c.skip == '' then
        if not first then first = c end
        if not best and bytes_gt(c.id, ptr) then best = c end
      end
    end
    return best or first
  elseif strategy == 'least_loaded' then
    for _, c in ipairs(cands) do
      if c.skip == '' and (not best or c.load < best.load or (c.load == best.load and c.last < best.last)) then best = c end
    end
    return best
  end
  -- weighted, best_conversion: smooth weighted round robin over the eligible
  local total = 0
  for _, c in ipairs(cands) do
    if c.skip == '' then
      total = total + c.w
      if not best or c.cw + c.w > best.cw + best.w then best = c end
    end
  end
  return best, total
end

-- offers lead cid (keys k) to candidate c
local function offer(cid, k, c, lseq)
  local sseq = redis.call('HINCRBY', k.conv, 'sseq', 1)
  redis.call('HINCRBY', k.conv, 'soffers', 1)
  redis.call('HSET', k.conv, 'sstate', 'offered', 'smgr', c.id, 'soffer_to', c.id, 'soffered', now)
  redis.call('ZREM', swaiting, cid)
  redis.call('HINCRBY', c.mk.mgr, 'load', 1)
  redis.call('HSET', c.mk.mgr, 'last_offer', now)
  redis.call('ZADD', c.mk.convs, now, cid)
  c.load = c.load + 1
  c.last = nnow
  redis.call('ZADD', timers, nnow + tonumber(ARGV[8]), 'sa|' .. cid .. '|' .. i(sseq))
  event(events, 'sales_offer', cid, c.id, sseq, '', i(lseq), now)
  timeline(k.tl, tls, cid, 'sales_offered', c.id, {seq = i(lseq)}, now)
end

-- one decision for lead cid (keys k): kind auto or manual (pick, by); quiet: no ledger entry
-- when nobody is eligible (a drain retrying a lead already waiting). Returns the chosen id or ''.
local function decide(cid, k, kind, pick, by, quiet)
  load_cands()
  local f = redis.call('HMGET', k.conv, 'lm', 'handed_at')
  local lm = f[1] or ''
  local skipmap = {}
  local raw = redis.call('HGETALL', k.sskip)
  for j = 1, #raw, 2 do skipmap[raw[j]] = raw[j + 1] end
  local any, lapsedonly = skips(skipmap)
  if not any and lapsedonly then
    -- everyone otherwise free let it lapse: a new round
    for id, why in pairs(skipmap) do
      if why == 'lapsed' then redis.call('HDEL', k.sskip, id); skipmap[id] = nil end
    end
    any = skips(skipmap)
  end
  local chosen, ptr = nil, ''
  if kind == 'manual' then
    for _, c in ipairs(cands) do if c.id == pick then chosen = c end end
  else
    if strategy == 'round_robin' then ptr = redis.call('GET', rrk) or '' end
    if not any and quiet then return '' end
    local total
    chosen, total = choose(ptr)
    local cj = cands_json()
    if chosen and (strategy == 'weighted' or strategy == 'best_conversion') then
      for _, c in ipairs(cands) do
        if c.skip == '' then
          c.cw = c.cw + c.w
          if c == chosen then c.cw = c.cw - total end
          redis.call('HSET', cwk, c.id, i(c.cw))
        end
      end
    end
    if chosen and strategy == 'round_robin' then redis.call('SET', rrk, chosen.id) end
    local lseq = ledger(cid, lm, 'auto', ptr, cj, chosen and chosen.id or '', '')
    if chosen then
      offer(cid, k, chosen, lseq)
      return chosen.id
    end
    redis.call('HSET', k.conv, 'sstate', 'queued', 'smgr', '', 'soffer_to', '')
    redis.call('ZADD', swaiting, num(f[2]), cid)
    return ''
  end
  local lseq = ledger(cid, lm, 'manual', ptr, cands_json(), chosen.id, by)
  offer(cid, k, chosen, lseq)
  return chosen.id
end

-- after a lapse, a breach or a rejection: tell the supervisors once max offers were made
local function escalate(cid, k)
  local f = redis.call('HMGET', k.conv, 'soffers', 'sesc', 'sseq')
  if num(f[1]) >= tonumber(ARGV[13]) and f[2] ~= '1' then
    redis.call('HSET', k.conv, 'sesc', '1')
    -- the reason is a catalogue message (locale.Msg) the staff bot renders in the reader's language
    local reason = '{"key":"sales.escalation.max_offers","args":{"n":"' .. i(num(f[1])) .. '"}}'
    event(events, 'escalation', cid, '', f[3], reason, '', now)
    timeline(k.tl, tls, cid, 'escalated', '', {tier = 'sales'}, now)
  end
end

if op == 'drain' then
  if redis.call('ZCARD', swaiting) == 0 or not free_any() then return {'ok', '', 0} end
  local made = 0
  for _, cid in ipairs(redis.call('ZRANGE', swaiting, 0, tonumber(cidarg) - 1)) do
    if not free_any() then break end
    local k = conv_keys(convs, cid)
    local q = redis.call('HMGET', k.conv, 'sstate', 'state')
    if q[1] ~= 'queued' or q[2] == 'closed' then
      redis.call('ZREM', swaiting, cid) -- erased, closed or moved on
    elseif decide(cid, k, 'auto', nil, '', true) ~= '' then
      made = made + 1
    end
  end
  return {'ok', '', made}
end

if op == 'offline' then
  -- sales manager actor went offline (presence.lua ran): their open offers are withdrawn at
  -- once and decided again (they are skipped as offline); the leads they accepted stay theirs
  local mk = mgr_keys(mgrs, actor)
  local back = {}
  for _, cid in ipairs(redis.call('ZRANGE', mk.convs, 0, -1)) do
    local k = conv_keys(convs, cid)
    local f = redis.call('HMGET', k.conv, 'sstate', 'soffer_to', 'sseq', 'state')
    if f[1] == 'offered' and f[2] == actor and f[4] ~= 'closed' then
      unload(mk, cid)
      redis.call('ZREM', timers, 'sa|' .. cid .. '|' .. (f[3] or '0'))
      timeline(k.tl, tls, cid, 'sales_lapsed', actor, {reason = 'offline'}, now)
      event(events, 'sales_offer_withdrawn', cid, actor, f[3], 'offline', '', now)
      back[#back + 1] = {cid = cid, k = k}
    end
  end
  local made = 0
  for _, b in ipairs(back) do
    escalate(b.cid, b.k)
    if decide(b.cid, b.k, 'auto', nil, '', false) ~= '' then made = made + 1 end
  end
  return {'ok', '', made}
end

local cid = cidarg
local k = conv_keys(convs, cid)

if op == 'handoff' then
  local f = redis.call('HMGET', k.conv, 'state', 'mgr', 'seq', 'sstate')
  if not f[1] then return {'notfound', '', ''} end
  if f[1] ~= 'assigned' or f[2] ~= actor then return {'notyours', '', ''} end
  redis.call('HSET', k.conv, 'qual', a5, 'qual_at', now, 'qual_by', actor, 'handed', '1', 'handed_at', now,
    'lm', actor, 'mgr', '', 'hnote', a6, 'sstate', 'queued', 'smgr', '', 'soffer_to', '')
  unload(mgr_keys(mgrs, actor), cid)
  redis.call('ZREM', timers, 'o|' .. cid .. '|' .. (f[3] or '0'), 'r|' .. cid .. '|' .. (f[3] or '0'))
  redis.call('ZADD', sopen, now, cid)
  event(events, 'qualified', cid, actor, f[3], a5, '', now)
  timeline(k.tl, tls, cid, 'qualified', actor, {level = a5}, now)
  local x = nil
  if a6 ~= '' then x = {note_set = '1'} end
  timeline(k.tl, tls, cid, 'handed_off', actor, x, now)
  local chosen = decide(cid, k, 'auto', nil, '', false)
  return {chosen ~= '' and 'ok' or 'queued', chosen, ''}
end

local f = redis.call('HMGET', k.conv, 'sstate', 'sseq', 'smgr', 'mgr', 'lm', 'state')
if not f[1] then return {'notfound', '', ''} end
if f[6] == 'closed' then -- closed meanwhile (close.lua, opsclose.lua): nothing to decide
  if op == 'lapse' or op == 'breach' then return {'stale', '', ''} end
  return {'conflict', '', ''}
end
local sstate, sseq, smgr = f[1], f[2] or '0', f[3] or ''

if op == 'lapse' or op == 'breach' then
  if sseq ~= a5 or (op == 'lapse' and sstate ~= 'offered') or (op == 'breach' and sstate ~= 'accepted') then
    return {'stale', '', ''}
  end
  unload(mgr_keys(mgrs, smgr), cid)
  if op == 'breach' then ungot(smgr, cid) end
  redis.call('HSET', k.sskip, smgr, 'lapsed')
  redis.call('ZREM', timers, 'sa|' .. cid .. '|' .. sseq, 'sc|' .. cid .. '|' .. sseq)
  if op == 'lapse' then
    timeline(k.tl, tls, cid, 'sales_lapsed', smgr, nil, now)
    event(events, 'sales_offer_withdrawn', cid, smgr, sseq, 'lapsed', '', now)
  else
    redis.call('HSET', k.conv, 'mgr', '')
    timeline(k.tl, tls, cid, 'contact_breach', smgr, nil, now)
    event(events, 'sales_offer_withdrawn', cid, smgr, sseq, 'no_contact', '', now)
  end
  escalate(cid, k)
  local chosen = decide(cid, k, 'auto', nil, '', false)
  return {chosen ~= '' and 'ok' or 'queued', chosen, ''}
end

if op == 'reject' then
  if (sstate ~= 'offered' and sstate ~= 'accepted' and sstate ~= 'contacted') or smgr ~= actor then
    return {'notyours', '', ''}
  end
  unload(mgr_keys(mgrs, actor), cid)
  if sstate ~= 'offered' then ungot(actor, cid) end
  redis.call('ZREM', timers, 'sa|' .. cid .. '|' .. sseq, 'sc|' .. cid .. '|' .. sseq)
  timeline(k.tl, tls, cid, 'sales_rejected', actor, {reason = a5}, now)
  if a6 == '1' then
    local lm = f[5] or ''
    local lk = mgr_keys(mgrs, lm)
    redis.call('HSET', k.conv, 'sstate', 'returned', 'smgr', '', 'soffer_to', '', 'mgr', lm, 'sreject', a5)
    redis.call('HINCRBY', lk.mgr, 'load', 1)
    redis.call('HINCRBY', lk.mgr, 'returned', 1)
    redis.call('ZADD', lk.convs, now, cid)
    redis.call('ZREM', sopen, cid)
    redis.call('ZREM', swaiting, cid)
    timeline(k.tl, tls, cid, 'returned', lm, {reason = a5}, now)
    event(events, 'sales_returned', cid, lm, sseq, a5, '', now)
    return {'returned', '', lm}
  end
  redis.call('HSET', k.sskip, actor, 'rejected')
  redis.call('HSET', k.conv, 'mgr', '', 'sreject', a5)
  escalate(cid, k)
  local chosen = decide(cid, k, 'auto', nil, '', false)
  return {chosen ~= '' and 'ok' or 'queued', chosen, ''}
end

if op == 'pick' then
  if sstate ~= 'queued' and sstate ~= 'offered' then return {'conflict', '', ''} end
  if sstate == 'offered' then
    withdraw_sales_offer(mgrs, timers, events, cid, smgr, sseq, 'manual', now)
  end
  local chosen = decide(cid, k, 'manual', a5, actor, false)
  return {'ok', chosen, ''}
end
return {'conflict', '', ''}
