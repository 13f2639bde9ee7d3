-- Closes a conversation assigned to the manager (a sales manager holding it after acceptance too); optionally queues a closing message. The
-- conversation is erased when the retention period ends (KEYS[11], retire.lua); its keys also
-- get a Redis TTL of retention + 7 days, a backstop should no instance run then.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:log   KEYS[3] {P}:conv:<id>:meta
-- KEYS[4] {P}:conv:<id>:lapsed   KEYS[5] {P}:mgr:<manager>   KEYS[6] {P}:mgr:<manager>:convs
-- KEYS[7] {P}:timers   KEYS[8] {P}:outbound   KEYS[9] {P}:events
-- KEYS[10] {P}:contact: (prefix: the contact pointer's channel, account and contact id are
--          read from the conversation)
-- KEYS[11] {P}:expiry   KEYS[12] {P}:conv:<id>:card
-- KEYS[13] {P}:hist: (prefix of the contact indexes, completed with the conversation's
--          contact, phone and e-mail pseudonyms)
-- KEYS[14] {P}:conv: (prefix: the other conversations in those indexes are read from them)
-- KEYS[15] {P}:conv:<id>:tl   KEYS[16] {P}:timeline: stage closed ({unanswered 1} when no human
--          ever answered)
-- KEYS[17] {P}:mgr: (prefix: the sales manager offered a waiting handed-off lead)
-- KEYS[18] {P}:sales:waiting   KEYS[19] {P}:sales:open
-- While a handed-off lead waits for a sales manager (sstate queued or offered, no mgr) the
-- lead-manager who handed it off (lm) may close it: the sales offer is withdrawn (event
-- sales_offer_withdrawn, reason closed) or the queue entry removed, and the lead leaves
-- {P}:sales:open (no longer pending an outcome); no ledger entry (no decision was made).
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] manager
-- ARGV[4] outbound JSON ("" = none)   ARGV[5] transcript line for it   ARGV[6] transcript limit
-- ARGV[7] retention ms
-- returns {status, channel}; status ok | notfound | notyours | closed
local ck, logk, meta, lapsed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mk = {mgr = KEYS[5], convs = KEYS[6]}
local timers, outbound, events, contacts = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local card, hists, convs = KEYS[12], KEYS[13], KEYS[14]
local now, cid, mgr = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq', 'ch', 'acct', 'contact', 'hc', 'ph', 'eh', 'replied', 'first_reply', 'sstate', 'sseq', 'lm', 'smgr')
if not f[1] then return {'notfound', ''} end
if f[1] == 'closed' then return {'closed', f[4]} end
local waiting_sales = (f[2] or '') == '' and (f[12] == 'queued' or f[12] == 'offered')
local holder = f[2]
if waiting_sales then holder = f[14] end -- the lead-manager holds it until a sales manager accepts
if f[1] ~= 'assigned' or holder ~= mgr then return {'notyours', ''} end
local sseq = f[13] or '0'
if waiting_sales then
  -- off the lead-manager's load since the handoff; withdraw the sales offer or queue entry
  if f[12] == 'offered' and (f[15] or '') ~= '' then
    withdraw_sales_offer(KEYS[17], timers, events, cid, f[15], sseq, 'closed', now)
  end
  redis.call('HSET', ck, 'smgr', '', 'soffer_to', '')
  redis.call('ZREM', KEYS[18], cid)
  redis.call('ZREM', KEYS[19], cid)
elseif f[12] == 'won' or f[12] == 'lost' then
  redis.call('ZREM', mk.convs, cid) -- the outcome already ended the sales load
else
  unload(mk, cid)
end
redis.call('ZREM', timers, 'r|' .. cid .. '|' .. f[3], 'sc|' .. cid .. '|' .. sseq)
redis.call('HSET', ck, 'state', 'closed', 'closed', now)
local contact = contact_key(contacts, f[4], f[5], f[6])
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
if ARGV[4] ~= '' then
  redis.call('XADD', outbound, '*', 'o', ARGV[4])
  push_log(logk, ARGV[5], ARGV[6])
end
local x = nil
if f[10] ~= '1' and not f[11] then x = {unanswered = '1'} end
timeline(KEYS[15], KEYS[16], cid, 'closed', mgr, x, now)
retain(KEYS[11], cid, {ck, logk, meta, card, KEYS[15], conv_keys(convs, cid).sskip}, now, ARGV[7])
hist_retire(hist_keys(hists, f[4], f[5], f[7], f[8], f[9]), convs, cid, ARGV[7])
redis.call('DEL', lapsed)
event(events, 'closed', cid, mgr, f[3], '', '', now)
return {'ok', f[4]}
