-- A sales manager's own actions on a lead: accept an offer, mark the customer contacted,
-- record the outcome (won/lost; a supervisor or a CRM connector may correct it later).
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:tl   KEYS[3] {P}:timers   KEYS[4] {P}:events
-- KEYS[5] {P}:timeline   KEYS[6] {P}:sales:open
-- KEYS[7] {P}:mgr: (prefix: the sales manager holding the lead is read from the conversation)
-- KEYS[8] {P}:sales: (prefix of {P}:sales:waiting, {P}:sales:got:<id> and {P}:sales:won:<id>, completed with the
--         sales manager holding the lead)
-- ARGV[1] now ms   ARGV[2] op: accept | contacted | outcome   ARGV[3] conversation id
-- ARGV[4] actor (a sales manager; outcome: "" for a CRM connector)   ARGV[5] first contact SLA ms
-- ARGV[6] outcome: 1 when the actor may correct (a supervisor or a connector)
-- ARGV[7] result won | lost   ARGV[8] amount   ARGV[9] currency   ARGV[10] loss reason
-- ARGV[11] source ("" or a connector name): a connector's outcome is applied in any sales state
--          (an open offer or queue entry is ended, nobody's conversion is credited)
-- returns {status, ms of the offer (accept) or of the acceptance (contacted), previous outcome}
-- status: ok | already | notfound | notyours | conflict
local ck, tlk, timers, events, tls, sopen, mgrs, sales = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now, op, cid, actor = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local f = redis.call('HMGET', ck, 'sstate', 'soffer_to', 'sseq', 'soffered', 'mgr', 'smgr', 'outcome', 'saccepted', 'state')
local crm = op == 'outcome' and ARGV[11] ~= '' -- a CRM connector's outcome is authoritative
if not f[1] then
  if not f[9] then return {'notfound', 0, ''} end
  if not crm then return {'conflict', 0, ''} end
end
local sstate, sseq = f[1] or '', f[3] or '0'
if f[9] == 'closed' and op ~= 'outcome' then return {'conflict', 0, ''} end

if op == 'accept' then
  if sstate == 'accepted' and f[5] == actor then return {'already', f[4] or 0, ''} end
  if sstate ~= 'offered' or f[2] ~= actor then return {'notyours', 0, ''} end
  redis.call('HSET', ck, 'sstate', 'accepted', 'mgr', actor, 'smgr', actor, 'soffer_to', '', 'saccepted', now)
  redis.call('ZREM', timers, 'sa|' .. cid .. '|' .. sseq)
  redis.call('ZADD', timers, tonumber(now) + tonumber(ARGV[5]), 'sc|' .. cid .. '|' .. sseq)
  redis.call('ZADD', sales .. 'got:' .. actor, now, cid)
  timeline(tlk, tls, cid, 'sales_accepted', actor, nil, now)
  event(events, 'sales_accepted', cid, actor, sseq, '', '', now)
  return {'ok', f[4] or 0, ''}
end

if op == 'contacted' then
  if sstate == 'contacted' and f[5] == actor then return {'already', 0, ''} end
  if sstate ~= 'accepted' or f[5] ~= actor then return {'notyours', 0, ''} end
  redis.call('HSET', ck, 'sstate', 'contacted', 'contacted', now)
  redis.call('ZREM', timers, 'sc|' .. cid .. '|' .. sseq)
  timeline(tlk, tls, cid, 'contacted', actor, nil, now)
  return {'ok', f[8] or 0, ''}
end

if op == 'outcome' then
  local holder = f[6] or ''
  if sstate ~= 'accepted' and sstate ~= 'contacted' and sstate ~= 'won' and sstate ~= 'lost' then
    if not crm then
      if ARGV[6] == '1' then return {'conflict', 0, ''} end
      return {'notyours', 0, ''}
    end
    -- the CRM decided before any sales manager held the lead (queued, offered, returned to the
    -- lead-manager, or never handed off): end the open offer or queue entry and record it
    -- without crediting anyone's conversion
    if sstate == 'offered' and f[2] and f[2] ~= '' then
      withdraw_sales_offer(mgrs, timers, events, cid, f[2], sseq, 'crm', now)
    end
    redis.call('ZREM', sales .. 'waiting', cid)
    redis.call('ZREM', sopen, cid)
    redis.call('HSET', ck, 'soffer_to', '')
    holder = ''
  end
  local prev = f[7] or ''
  if ARGV[6] ~= '1' then
    if f[5] ~= actor then return {'notyours', 0, ''} end
    if prev ~= '' then return {'already', 0, prev} end
  end
  local result = ARGV[7]
  if prev == '' and holder ~= '' then
    local mk = mgr_keys(mgrs, holder)
    if f[9] ~= 'closed' then unload(mk, cid) else redis.call('ZREM', mk.convs, cid) end
    redis.call('ZREM', timers, 'sc|' .. cid .. '|' .. sseq)
    redis.call('ZREM', sopen, cid)
  end
  if holder ~= '' then
    local wonk = sales .. 'won:' .. holder
    if result == 'won' then redis.call('ZADD', wonk, now, cid) else redis.call('ZREM', wonk, cid) end
  end
  local amount, cur, reason = '', '', ''
  if result == 'won' then amount, cur = ARGV[8], ARGV[9] else reason = ARGV[10] end
  redis.call('HSET', ck, 'sstate', result, 'outcome', result, 'amount', amount, 'currency', cur, 'loss_reason', reason,
    'outcome_at', now, 'outcome_by', actor, 'outcome_src', ARGV[11])
  local by = actor
  if by == '' then by = ARGV[11] end
  if prev == '' then
    if result == 'won' then
      timeline(tlk, tls, cid, 'won', by, {amount = amount, currency = cur}, now)
    else
      timeline(tlk, tls, cid, 'lost', by, {reason = reason}, now)
    end
  else
    local x = {from = prev, to = result}
    if result == 'won' then x.amount, x.currency = amount, cur else x.reason = reason end
    timeline(tlk, tls, cid, 'outcome_changed', by, x, now)
  end
  return {'ok', 0, prev}
end
return {'conflict', 0, ''}
