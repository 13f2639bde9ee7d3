-- Erases a conversation on request (personal data): its hash, meta, transcript, contact pointer,
-- queue entry, timers, retention entry and its place in the manager's load, and queues a
-- forget job for the copies outside these keys (inbound, outbound and events stream entries,
-- dead letters, deferred sends: see router/forget.go), which the caller runs at once and every
-- instance retries until done.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:log   KEYS[3] {P}:conv:<id>:meta
-- KEYS[4] {P}:conv:<id>:lapsed   KEYS[5] {P}:waiting   KEYS[6] {P}:timers   KEYS[7] {P}:events
-- KEYS[8] {P}:mgr: (prefix: the manager holding the conversation is read from it)
-- KEYS[9] {P}:contact: (prefix: the contact pointer's parts are read from the conversation)
-- KEYS[10] {P}:expiry   KEYS[11] {P}:forget
-- ARGV[1] now ms   ARGV[2] conversation id
-- returns status: ok | notfound
local ck, logk, meta, lapsed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local waiting, timers, events, mgrs, contacts = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local expiry, forget = KEYS[10], KEYS[11]
local now, cid = ARGV[1], ARGV[2]
local f = redis.call('HMGET', ck, 'state', 'offer_to', 'mgr', 'seq', 'ch', 'acct', 'contact')
if not f[1] then return 'notfound' end
local holder = ''
if f[1] == 'offered' then holder = f[2] elseif f[1] == 'assigned' then holder = f[3] end
if holder and holder ~= '' then
  unload(mgr_keys(mgrs, holder), cid)
end
redis.call('ZREM', waiting, cid)
redis.call('ZREM', timers, 'o|' .. cid .. '|' .. (f[4] or '0'), 'r|' .. cid .. '|' .. (f[4] or '0'))
local contact = contact_key(contacts, f[5], f[6], f[7])
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
redis.call('DEL', ck, logk, lapsed, meta)
redis.call('ZREM', expiry, cid)
forget_job(forget, cid, f[5], f[6], f[7], now)
event(events, 'closed', cid, holder, f[4] or 0, 'erased', '', now)
return 'ok'
