-- Queues one timeline entry for every endpoint that takes its event: one outbox item per
-- endpoint, all in one step (the stream entry is acknowledged only after this returned).
-- KEYS[3i-2] {P:wh}:ep:<endpoint i>   KEYS[3i-1] {P:wh}:due:<endpoint i>
-- KEYS[3i]   {P:wh}:item:<endpoint i>:<webhook-id>
-- ARGV[1] webhook-id ("msg_" + stream entry id)   ARGV[2] conversation id   ARGV[3] stage
-- ARGV[4] manager id or ''   ARGV[5] extra (JSON) or ''   ARGV[6] event time ms   ARGV[7] now ms
-- returns the number of items queued: an endpoint disabled by a 410 is skipped, and an item
-- that exists already (the entry was read again after a crash before its ack) is kept as is.
-- Every key is read before anything is written, so an error (a key of the wrong type) leaves
-- no item half-written: the script fails whole and the entry stays pending.
local todo = {}
for i = 1, #KEYS, 3 do
  local ep, due, item = KEYS[i], KEYS[i + 1], KEYS[i + 2]
  local disabled = redis.call('HGET', ep, 'disabled') == '1'
  redis.call('ZSCORE', due, ARGV[1]) -- fails now, not after a write, if due is not a zset
  if not disabled and redis.call('EXISTS', item) == 0 then todo[#todo + 1] = i end
end
for _, i in ipairs(todo) do
  redis.call('HSET', KEYS[i + 2], 'c', ARGV[2], 's', ARGV[3], 'm', ARGV[4], 'x', ARGV[5], 'at', ARGV[6],
    'n', '0', 'claim', '0', 'state', 'pending')
  redis.call('ZADD', KEYS[i + 1], ARGV[7], ARGV[1])
end
return #todo
