-- Re-qualifies a conversation on a follow-up customer message while it still waits for a
-- human: state waiting or offered, no manager qualification (qual), no human reply. The
-- rules only ever raise: the priority becomes the highest of the old one and the matched
-- rules', new tags are added, nothing is removed; a not-a-lead verdict on a follow-up is
-- ignored by the caller (a lead is never closed by a later message). Idempotent per
-- message count: a count not above the last one re-qualified (rq) changes nothing.
-- KEYS[1] {P}:conv:<id>   KEYS[2] {P}:conv:<id>:card   KEYS[3] {P}:waiting
-- ARGV[1] conversation id   ARGV[2] the message's count among the customer's (nin)
-- ARGV[3] the matched rules, a JSON list of {line, prio (0..9, -1 = none), tags (list)}
--         in configuration order; line is the explanation sentence for the lead card
-- returns {status, priority, tags (comma-separated)}
--   status: "raised" (priority or tags changed, lines appended to the card's why) |
--   "same" (nothing new) | "skip" (not waiting for a human, or count already seen) |
--   "notfound"
local ck, card, waiting = KEYS[1], KEYS[2], KEYS[3]
local cid, n = ARGV[1], tonumber(ARGV[2])
local f = redis.call('HMGET', ck, 'state', 'qual', 'replied', 'prio', 'tags', 'rq', 'first_in')
if not f[1] then return {'notfound', 0, ''} end
if (f[1] ~= 'waiting' and f[1] ~= 'offered') or (f[2] and f[2] ~= '') or f[3] == '1' or n <= num(f[6]) then
  return {'skip', num(f[4]), f[5] or ''}
end
redis.call('HSET', ck, 'rq', n)
local prio = num(f[4])
local tags, have = {}, {}
for t in string.gmatch(f[5] or '', '[^,]+') do
  tags[#tags + 1] = t
  have[t] = true
end
local lines = {}
for _, r in ipairs(cjson.decode(ARGV[3])) do
  local adds = false
  if r.prio and r.prio > prio then
    prio = r.prio
    adds = true
  end
  for _, t in ipairs(r.tags or {}) do
    if not have[t] then
      have[t] = true
      tags[#tags + 1] = t
      adds = true
    end
  end
  if adds then lines[#lines + 1] = r.line end
end
if #lines == 0 then return {'same', prio, f[5] or ''} end
table.sort(tags)
local tagstr = table.concat(tags, ',')
redis.call('HSET', ck, 'prio', prio, 'tags', tagstr)
local why = {}
local old = redis.call('HGET', card, 'why')
if old and old ~= '' then
  local ok, v = pcall(cjson.decode, old)
  if ok and type(v) == 'table' then why = v end
end
for _, l in ipairs(lines) do why[#why + 1] = l end
redis.call('HSET', card, 'why', cjson.encode(why))
if f[1] == 'waiting' then
  redis.call('ZADD', waiting, 'XX', qscore(prio, f[7]), cid)
end
return {'raised', prio, tagstr}
