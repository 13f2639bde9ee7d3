-- Erases a conversation on request (personal data): its hash, meta, transcript, lead card,
-- contact pointer, its entries in the contact indexes (channel contact, phone, e-mail), queue
-- entry, timers, retention entry and its place in the manager's load, and queues a forget job
-- for the copies outside these keys (inbound, outbound and events stream entries, dead
-- letters, deferred sends: see router/forget.go), which the caller runs at once and every
-- instance retries until done.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:log   KEYS[3] {P}:conv:<id>:meta
-- KEYS[4] {P}:conv:<id>:lapsed   KEYS[5] {P}:waiting   KEYS[6] {P}:timers   KEYS[7] {P}:events
-- KEYS[8] {P}:mgr: (prefix: the manager holding the conversation is read from it)
-- KEYS[9] {P}:contact: (prefix: the contact pointer's parts are read from the conversation)
-- KEYS[10] {P}:expiry   KEYS[11] {P}:forget   KEYS[12] {P}:conv:<id>:card
-- KEYS[13] {P}:hist: (prefix of the contact indexes, completed with the conversation's
--          contact, phone and e-mail pseudonyms)
-- KEYS[14] {P}:conv: (prefix: the other conversations in those indexes are read from them)
-- KEYS[15] {P}:conv:<id>:tl (the timeline: deleted)   KEYS[16] {P}:leads (the lead leaves it; its
--          {P}:timeline stream entries hold ids only and stay until trimmed)
-- KEYS[17] {P}:sales:waiting   KEYS[18] {P}:sales:open   KEYS[19] {P}:conv:<id>:sskip
-- KEYS[20..] pairs ({P}:sales:got:<id>, {P}:sales:won:<id>) of every sales manager
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] retention ms (an index left with closed
--          conversations only gets their backstop TTL)
-- ARGV[4] optional: erase only an open conversation abandoned before this ms (no customer
--          message, accept or first reply since; created counts when none): router.abandoned_retention
-- returns status: ok | notfound | active (ARGV[4] given and the conversation is closed or was
--          active since)
local ck, logk, meta, lapsed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local waiting, timers, events, mgrs, contacts = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local expiry, forget, card, hists, convs = KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local now, cid = ARGV[1], ARGV[2]
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'ch', 'acct', 'contact', 'hc', 'ph', 'eh', 'sstate', 'smgr', 'sseq')
if not f[1] then return 'notfound' end
if ARGV[4] and ARGV[4] ~= '' then
  if f[1] == 'closed' then return 'active' end
  local t = redis.call('HMGET', ck, 'last_in', 'accepted', 'first_reply', 'created')
  if math.max(num(t[1]), num(t[2]), num(t[3]), num(t[4])) >= num(ARGV[4]) then return 'active' end
end
local holder = ''
if f[1] == 'offered' then holder = f[2] elseif f[1] == 'assigned' then holder = f[3] end
if f[11] == 'offered' then holder = f[12] end -- a sales offer: the sales manager's load
if holder and holder ~= '' then
  if f[11] == 'won' or f[11] == 'lost' then
    redis.call('ZREM', mgr_keys(mgrs, holder).convs, cid) -- the outcome already ended the load
  else
    unload(mgr_keys(mgrs, holder), cid)
  end
end
-- the sales tier's keys: queue, stale report, skips, conversion counts, timers
redis.call('ZREM', KEYS[17], cid)
redis.call('ZREM', KEYS[18], cid)
redis.call('DEL', KEYS[19])
for j = 20, #KEYS do redis.call('ZREM', KEYS[j], cid) end
redis.call('ZREM', timers, 'sa|' .. cid .. '|' .. (f[13] or '0'), 'sc|' .. cid .. '|' .. (f[13] or '0'))
redis.call('ZREM', waiting, cid)
redis.call('ZREM', timers, 'o|' .. cid .. '|' .. (f[4] or '0'), 'r|' .. cid .. '|' .. (f[4] or '0'))
local contact = contact_key(contacts, f[5], f[6], f[7])
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
local hk = hist_keys(hists, f[5], f[6], f[8], f[9], f[10])
for _, k in ipairs(hk) do redis.call('ZREM', k, cid) end
hist_retire(hk, convs, cid, ARGV[3])
redis.call('DEL', ck, logk, lapsed, meta, card, KEYS[15])
redis.call('ZREM', KEYS[16], cid)
redis.call('ZREM', expiry, cid)
forget_job(forget, cid, f[5], f[6], f[7], now)
event(events, 'closed', cid, holder, f[4] or 0, 'erased', '', now)
return 'ok'
