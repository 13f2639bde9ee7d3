-- Closes a conversation assigned to the manager; optionally queues a closing message. The
-- conversation and its transcript expire after the retention period.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:log   KEYS[3] {P}:conv:<id>:meta
-- KEYS[4] {P}:conv:<id>:lapsed   KEYS[5] {P}:mgr:<manager>   KEYS[6] {P}:mgr:<manager>:convs
-- KEYS[7] {P}:timers   KEYS[8] {P}:outbound   KEYS[9] {P}:events
-- KEYS[10] {P}:contact: (prefix: the contact pointer's channel, account and contact id are
--          read from the conversation)
-- KEYS[11] {P}:conv:<id>:card   KEYS[12] {P}:hist: (prefix of the contact indexes, completed
--          with the conversation's contact and phone/e-mail hashes)
-- KEYS[13] {P}:conv: (prefix: the other conversations in those indexes are read from them)
-- ARGV[1] now ms   ARGV[2] conversation id   ARGV[3] manager
-- ARGV[4] outbound JSON ("" = none)   ARGV[5] transcript line for it   ARGV[6] transcript limit
-- ARGV[7] retention ms
-- returns {status, channel}; status ok | notfound | notyours | closed
local ck, logk, meta, lapsed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mk = {mgr = KEYS[5], convs = KEYS[6]}
local timers, outbound, events, contacts = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local card, hists, convs = KEYS[11], KEYS[12], KEYS[13]
local now, cid, mgr = ARGV[1], ARGV[2], ARGV[3]
local f = redis.call('HMGET', ck, 'state', 'mgr', 'seq', 'ch', 'acct', 'contact', 'ph', 'eh')
if not f[1] then return {'notfound', ''} end
if f[1] == 'closed' then return {'closed', f[4]} end
if f[1] ~= 'assigned' or f[2] ~= mgr then return {'notyours', ''} end
unload(mk, cid)
redis.call('ZREM', timers, 'r|' .. cid .. '|' .. f[3])
redis.call('HSET', ck, 'state', 'closed', 'closed', now)
local contact = contact_key(contacts, f[4], f[5], f[6])
if redis.call('GET', contact) == cid then redis.call('DEL', contact) end
if ARGV[4] ~= '' then
  redis.call('XADD', outbound, '*', 'o', ARGV[4])
  push_log(logk, ARGV[5], ARGV[6])
end
redis.call('PEXPIRE', ck, ARGV[7])
redis.call('PEXPIRE', logk, ARGV[7])
redis.call('PEXPIRE', meta, ARGV[7])
redis.call('PEXPIRE', card, ARGV[7])
hist_retire(hist_keys(hists, f[4], f[5], f[6], f[7], f[8]), convs, cid, ARGV[7])
redis.call('DEL', lapsed)
event(events, 'closed', cid, mgr, f[3], '', '', now)
return {'ok', f[4]}
