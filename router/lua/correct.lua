-- Corrects a contact's personal data at the customer's request (name, phone, e-mail) in every
-- conversation of that channel contact: the conversations in its contact index and the one its
-- contact pointer names, each checked to be the same channel, account and contact id. A
-- changed phone or e-mail moves the conversation from the old phone / e-mail index to the new
-- one (the conversation's ph / eh fields follow), so erasure and retirement still find it.
-- A form lead's contact id is its phone number (else its e-mail address): when that value is
-- corrected the contact id follows (ARGV[17]), so the conversations move to the new contact's
-- index (KEYS[6]) and the open-conversation pointer to the new contact's (KEYS[7], unless that
-- contact has an open conversation of its own).
-- Each corrected conversation gets the notes ARGV[14] on its transcript (who, when, which
-- fields: never the old value). A forget job for the contact (no conversation) is queued so
-- the inbound stream copies that still carry the old values are removed (router/forget.go).
-- KEYS[1] {P}:hist:c:<ch>:<acct>:<ps> (the contact's index)
-- KEYS[2] {P}:contact:<ch>:<acct>:<contact id> (the contact pointer)
-- KEYS[3] {P}:conv: (prefix: the conversations' keys are completed from it)
-- KEYS[4] {P}:hist: (prefix of the phone and e-mail indexes)
-- KEYS[5] {P}:forget
-- KEYS[6] {P}:hist:c:<ch>:<acct>:<new ps>, KEYS[7] {P}:contact:<ch>:<acct>:<new contact id>
--         (the new contact's index and pointer; KEYS[1] and KEYS[2] when the id is unchanged)
-- KEYS[8] {P}:timeline: stage corrected {fields = the corrected field names, comma-separated}
--         on each conversation (its list completed from KEYS[3])
-- ARGV[1] now ms   ARGV[2] channel   ARGV[3] account   ARGV[4] contact id
-- ARGV[5] manager asking: '' = a supervisor; else the correction is allowed only if one of
--         the conversations is assigned to this manager
-- ARGV[6] 1 = set the name      ARGV[7] the new name
-- ARGV[8] 1 = set the phone     ARGV[9] the new E.164 number ('' clears)   ARGV[10] its pseudonym
-- ARGV[11] 1 = set the e-mail   ARGV[12] the new address ('' clears)       ARGV[13] its pseudonym
-- ARGV[14] transcript note lines (JSON array of strings)   ARGV[15] transcript limit   ARGV[16] retention ms
-- ARGV[17] the new contact id ('' = unchanged)   ARGV[18] its pseudonym
-- returns {status, conversation ids...}: status ok | notfound (no conversation of that
-- contact, or, for a manager, none of them assigned to them: the same answer)
local idx, ptr, convs, hists, forget, newidx, newptr = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now, ch, acct, contact, asker = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local notes = cjson.decode(ARGV[14])
local ids, seen = {}, {}
local function consider(id)
  if not id or seen[id] then return end
  seen[id] = true
  local f = redis.call('HMGET', conv_keys(convs, id).conv, 'ch', 'acct', 'contact', 'state', 'mgr')
  if f[1] == ch and f[2] == acct and f[3] == contact then
    ids[#ids + 1] = {id = id, state = f[4], mgr = f[5]}
  end
end
for _, id in ipairs(redis.call('ZRANGE', idx, 0, -1)) do consider(id) end
local cur = redis.call('GET', ptr)
if cur then consider(cur) end
if #ids == 0 then return {'notfound'} end
if asker ~= '' then
  local mine = false
  for _, c in ipairs(ids) do
    if c.state == 'assigned' and c.mgr == asker then mine = true end
  end
  if not mine then return {'notfound'} end
end

-- index k: no TTL while one of its conversations is open, else the backstop of closed
-- conversations; an empty index is deleted
local function hist_ttl(k)
  local open, any = false, false
  for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do
    local st = redis.call('HGET', conv_keys(convs, id).conv, 'state')
    if not st then
      redis.call('ZREM', k, id)
    else
      any = true
      if st ~= 'closed' then open = true end
    end
  end
  if not any then
    redis.call('DEL', k)
  elseif open then
    redis.call('PERSIST', k)
  else
    redis.call('PEXPIRE', k, num(ARGV[16]) + 7 * 86400000)
  end
end

-- moves conversation id from index field fld's old index to the pseudonym ps (field value v)
local function move(ck, id, field, fld, v, ps, mk)
  local old = redis.call('HGET', ck, fld) or ''
  redis.call('HSET', ck, field, v, fld, ps)
  if old == ps then return end
  local score = redis.call('HGET', ck, 'first_in') or now
  if old ~= '' then
    local k = mk(hists, old)
    redis.call('ZREM', k, id)
    hist_ttl(k)
  end
  if ps ~= '' then
    local k = mk(hists, ps)
    redis.call('ZADD', k, score, id)
    redis.call('ZREMRANGEBYRANK', k, 0, -(HIST_MAX + 1))
    hist_ttl(k)
  end
end

local fields = {}
if ARGV[6] == '1' then fields[#fields + 1] = 'name' end
if ARGV[8] == '1' then fields[#fields + 1] = 'phone' end
if ARGV[11] == '1' then fields[#fields + 1] = 'email' end
if ARGV[17] ~= '' then fields[#fields + 1] = 'contact' end
local out = {'ok'}
for _, c in ipairs(ids) do
  local ck = conv_keys(convs, c.id)
  if ARGV[6] == '1' then redis.call('HSET', ck.conv, 'name', ARGV[7]) end
  if ARGV[8] == '1' then move(ck.conv, c.id, 'phone', 'ph', ARGV[9], ARGV[10], hist_phone) end
  if ARGV[11] == '1' then move(ck.conv, c.id, 'email', 'eh', ARGV[12], ARGV[13], hist_email) end
  if ARGV[17] ~= '' then
    redis.call('HSET', ck.conv, 'contact', ARGV[17], 'hc', ARGV[18])
    redis.call('ZREM', idx, c.id)
    redis.call('ZADD', newidx, redis.call('HGET', ck.conv, 'first_in') or now, c.id)
    redis.call('ZREMRANGEBYRANK', newidx, 0, -(HIST_MAX + 1))
  end
  for _, line in ipairs(notes) do push_log(ck.log, line, ARGV[15]) end
  timeline(ck.tl, KEYS[8], c.id, 'corrected', asker, {fields = table.concat(fields, ',')}, now)
  if c.state == 'closed' and redis.call('PTTL', ck.log) < 0 then -- a closed conversation's keys expire together
    local ttl = redis.call('PTTL', ck.conv)
    if ttl > 0 then redis.call('PEXPIRE', ck.log, ttl) end
  end
  if c.state == 'closed' and redis.call('PTTL', ck.tl) < 0 then
    local ttl = redis.call('PTTL', ck.conv)
    if ttl > 0 then redis.call('PEXPIRE', ck.tl, ttl) end
  end
  out[#out + 1] = c.id
end
if ARGV[17] ~= '' then
  hist_ttl(idx)
  hist_ttl(newidx)
  if cur then
    local ttl = redis.call('PTTL', ptr)
    redis.call('DEL', ptr)
    if redis.call('EXISTS', newptr) == 0 then
      redis.call('SET', newptr, cur)
      if ttl > 0 then redis.call('PEXPIRE', newptr, ttl) end
    end
  end
end
forget_job(forget, '', ch, acct, contact, now)
return out
