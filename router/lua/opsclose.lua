-- A supervisor closes a lead in any open state, without the polite-close text: it leaves the
-- queue or its holder's load, its timers are dropped, and it is retained like a closed
-- conversation (see close.lua). Appends the action to the audit stream.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:log   KEYS[3] {P}:conv:<id>:meta
-- KEYS[4] {P}:conv:<id>:lapsed   KEYS[5] {P}:waiting   KEYS[6] {P}:timers   KEYS[7] {P}:events
-- KEYS[8] {P}:mgr: (prefix: the holder is read from the conversation)
-- KEYS[9] {P}:contact: (prefix: the contact pointer's parts are read from the conversation)
-- KEYS[10] {P}:expiry   KEYS[11] {P}:conv:<id>:card
-- KEYS[12] {P}:hist: (prefix of the contact indexes)   KEYS[13] {P}:conv: (prefix)
-- KEYS[14] {P}:audit   KEYS[15] {P}:sales:waiting   KEYS[16] {P}:sales:open
-- A handed-off lead's sales side ends too: waiting for a sales manager (queued, offered), its
-- offer is withdrawn (sales_offer_withdrawn, reason closed) or its queue entry removed, and
-- it leaves {P}:sales:open; the lead-manager holding it is told (closed event); accepted, the
-- first-contact timer stops (an outcome may still be recorded, as after close.lua).
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] retention ms   ARGV[4] supervisor
-- returns {status, channel, holder}; status ok | notfound | closed
local ck, logk, meta, lapsed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local waiting, timers, events, mgrs, contacts = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local expiry, card, hists, convs, audit = KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local now, cid = ARGV[1], ARGV[2]
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'ch', 'acct', 'contact', 'hc', 'ph', 'eh',
  'sstate', 'sseq', 'smgr', 'lm')
if not f[1] then return {'notfound', '', ''} end
if f[1] == 'closed' then return {'closed', f[5] or '', ''} end
local holder = ''
if f[1] == 'offered' then holder = f[2] or '' elseif f[1] == 'assigned' then holder = f[3] or '' end
local sseq = f[12] or '0'
if f[1] == 'assigned' and holder == '' and (f[11] == 'queued' or f[11] == 'offered') then
  -- waiting for a sales manager: off the lead-manager's load already (see close.lua)
  if f[11] == 'offered' and (f[13] or '') ~= '' then
    withdraw_sales_offer(mgrs, timers, events, cid, f[13], sseq, 'closed', now)
  end
  redis.call('HSET', ck, 'smgr', '', 'soffer_to', '')
  redis.call('ZREM', KEYS[15], cid)
  redis.call('ZREM', KEYS[16], cid)
  holder = f[14] or ''
elseif f[11] == 'won' or f[11] == 'lost' then
  if holder ~= '' then redis.call('ZREM', mgr_keys(mgrs, holder).convs, cid) end -- the outcome ended the load
elseif holder ~= '' then
  unload(mgr_keys(mgrs, holder), cid)
end
local seq = f[4] or '0'
redis.call('ZREM', waiting, cid)
redis.call('ZREM', timers, 'o|' .. cid .. '|' .. seq, 'r|' .. cid .. '|' .. seq, 'sc|' .. cid .. '|' .. sseq)
redis.call('HSET', ck, 'state', 'closed', 'closed', now, 'offer_to', '')
local contact = contact_key(contacts, f[5], f[6], f[7])
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
retain(expiry, cid, {ck, logk, meta, card}, now, ARGV[3])
hist_retire(hist_keys(hists, f[5], f[6], f[8], f[9], f[10]), convs, cid, ARGV[3])
redis.call('DEL', lapsed)
event(events, 'closed', cid, holder, seq, 'supervisor', '', now)
redis.call('XADD', audit, 'MAXLEN', '~', 100000, '*', 'at', now, 'by', ARGV[4], 'action', 'close',
  'lead', cid, 'manager', holder, 'detail', '')
return {'ok', f[5] or '', holder}
