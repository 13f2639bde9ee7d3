-- Shared prelude of every router script (router/scripts.go prepends it). A script gets every
-- key as KEYS, built in Go by the key functions of router/keys.go. Where a key depends on data
-- the script reads itself (a conversation id taken from the queue, the contact pointer or a
-- manager's index; the manager holding a conversation; the contact of a conversation), the
-- script gets that key's prefix as a KEYS entry ({P}:conv:, {P}:mgr:, {P}:contact:, built by
-- keys.convPrefix, mgrPrefix, contactPrefix) and completes it with the functions below, the
-- only place in Lua that writes key suffixes (they mirror router/keys.go). Every key and
-- prefix carries the hash tag {P}, so each script runs inside one Redis Cluster slot.
local function num(v) return tonumber(v) or 0 end

-- queue score: higher priority first, then older first
local function qscore(prio, first_in)
  return (9 - num(prio)) * 1e13 + num(first_in)
end

-- a conversation's keys from the prefix {P}:conv: (keys.conv, log, meta, lapsed, card, timeline, salesSkip)
local function conv_keys(prefix, cid)
  local ck = prefix .. cid
  return {conv = ck, log = ck .. ':log', meta = ck .. ':meta', lapsed = ck .. ':lapsed', card = ck .. ':card', tl = ck .. ':tl',
    sskip = ck .. ':sskip'}
end

-- a manager's keys from the prefix {P}:mgr: (keys.mgr, mgrConvs)
local function mgr_keys(prefix, id)
  return {mgr = prefix .. id, convs = prefix .. id .. ':convs'}
end

-- a contact's open-conversation pointer from the prefix {P}:contact: (keys.contact)
local function contact_key(prefix, ch, acct, id)
  return prefix .. (ch or '') .. ':' .. (acct or '') .. ':' .. (id or '')
end

-- the contact indexes of a conversation from the prefix {P}:hist: (keys.histContact,
-- histPhone, histEmail): its channel contact, and its phone and e-mail where set, each named
-- by its pseudonym (conversation fields hc, ph, eh)
local function hist_phone(prefix, ph) return prefix .. 'p:' .. ph end
local function hist_email(prefix, eh) return prefix .. 'e:' .. eh end
local function hist_keys(prefix, ch, acct, hc, ph, eh)
  local ks = {}
  if hc and hc ~= '' then ks[#ks + 1] = prefix .. 'c:' .. (ch or '') .. ':' .. (acct or '') .. ':' .. hc end
  if ph and ph ~= '' then ks[#ks + 1] = hist_phone(prefix, ph) end
  if eh and eh ~= '' then ks[#ks + 1] = hist_email(prefix, eh) end
  return ks
end

-- how many conversations a contact index keeps (the newest)
local HIST_MAX = 20

-- adds conversation cid to the contact index k; an index with an open conversation has no TTL
local function hist_add(k, cid, now)
  redis.call('ZADD', k, now, cid)
  redis.call('ZREMRANGEBYRANK', k, 0, -(HIST_MAX + 1))
  redis.call('PERSIST', k)
end

-- conversation cid was closed or erased: each of its contact indexes ks gets the backstop TTL
-- of closed conversations (retention + 7 days, see retain) unless another conversation in it
-- is still open; entries of conversations already gone are dropped. Retirement (retire.lua)
-- removes each conversation from its indexes when its retention ends. convs is {P}:conv:.
local function hist_retire(ks, convs, cid, retention)
  for _, k in ipairs(ks) do
    local open = false
    for _, id in ipairs(redis.call('ZRANGE', k, 0, -1)) do
      if id ~= cid then
        local st = redis.call('HGET', conv_keys(convs, id).conv, 'state')
        if not st then
          redis.call('ZREM', k, id)
        elseif st ~= 'closed' then
          open = true
        end
      end
    end
    if not open then redis.call('PEXPIRE', k, num(retention) + 7 * 86400000) end
  end
end

-- events stream entry: t type, c conversation, m manager, s offer seq, r reason, x extra JSON, at ms
local function event(stream, t, c, m, s, r, x, now)
  redis.call('XADD', stream, '*', 't', t, 'c', tostring(c), 'm', m or '', 's', tostring(s or 0),
    'r', r or '', 'x', x or '', 'at', tostring(now))
end

-- appends a transcript line, keeping the last limit lines
local function push_log(logk, msg, limit)
  redis.call('RPUSH', logk, msg)
  redis.call('LTRIM', logk, -num(limit), -1)
end

-- the manager with keys mk gives back conversation cid: load down by one (never below 0)
-- and out of their index
local function unload(mk, cid)
  local load = redis.call('HINCRBY', mk.mgr, 'load', -1)
  if load < 0 then redis.call('HSET', mk.mgr, 'load', 0) end
  redis.call('ZREM', mk.convs, cid)
end

-- withdraws the open sales offer of lead cid to sales manager smgr (round sseq): their load
-- freed, the accept timer removed, sales_offer_withdrawn with reason r on the events stream
local function withdraw_sales_offer(mgrs, timers, events, cid, smgr, sseq, r, now)
  unload(mgr_keys(mgrs, smgr), cid)
  redis.call('ZREM', timers, 'sa|' .. cid .. '|' .. sseq)
  event(events, 'sales_offer_withdrawn', cid, smgr, sseq, r, '', now)
end

-- takes an offered or assigned conversation (hash ck) away from its manager (keys mk, nil
-- for none) and puts it back in the queue
local function requeue(ck, waiting, cid, mk)
  if mk then unload(mk, cid) end
  local f = redis.call('HMGET', ck, 'prio', 'first_in')
  redis.call('HSET', ck, 'state', 'waiting', 'offer_to', '', 'mgr', '')
  redis.call('ZADD', waiting, qscore(f[1], f[2]), cid)
end

-- queues the forget job of an erased or expired conversation (router/forget.go): the stream
-- entries, dead letters and deferred sends that still carry its personal data are found by
-- conversation id and by contact (channel, account, contact id)
local function forget_job(forget, cid, ch, acct, contact, now)
  redis.call('ZADD', forget, now, cjson.encode({c = tostring(cid), ch = ch or '', a = acct or '', k = contact or ''}))
end

-- a closed conversation cid is erased when retention ms have passed since now (retire.lua
-- pops it from the expiry zset); its keys ks also get a Redis TTL 7 days longer, a backstop
-- should no gateway run then (the stream copies are then left to trimming)
local function retain(expiry, cid, ks, now, retention)
  redis.call('ZADD', expiry, num(now) + num(retention), cid)
  for _, k in ipairs(ks) do redis.call('PEXPIRE', k, num(retention) + 7 * 86400000) end
end

-- appends stage s of conversation cid to its timeline list tlk and to the timeline stream
-- (router/sales_types.go TimelineEntry; stages there). m: manager id or ''; x: a Lua table of
-- string fields (ids, levels, reasons, amounts; never personal data) or nil.
local function timeline(tlk, stream, cid, s, m, x, now)
  local xs = ''
  if x and next(x) ~= nil then xs = cjson.encode(x) end
  redis.call('RPUSH', tlk, cjson.encode({s = s, at = num(now), m = m or '', x = xs}))
  redis.call('XADD', stream, 'MAXLEN', '~', 100000, '*', 'c', tostring(cid), 's', s, 'm', m or '', 'x', xs, 'at', tostring(now))
end
