-- Claims up to ARGV[3] due items of one endpoint for delivery: each is pushed to the end of
-- a lease (its score becomes now + lease) and gets a new claim token, so several gateways
-- share the outbox without sending an item twice at once; an item whose deliverer died
-- before recording the answer becomes due again when the lease ends (and is sent again,
-- with the same webhook-id).
-- KEYS[1] {P:wh}:due:<endpoint>   KEYS[2] {P:wh}:item:<endpoint>: (prefix: the item ids are
-- read from KEYS[1])   KEYS[3] {P:wh}:ep:<endpoint>
-- ARGV[1] now ms   ARGV[2] lease ms   ARGV[3] limit
-- returns a flat list, 8 values per claimed item: id, token, c, s, m, x, at, n (attempts made
-- before this one); empty when the endpoint is disabled.
if redis.call('HGET', KEYS[3], 'disabled') == '1' then return {} end
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local item = KEYS[2] .. id
  local f = redis.call('HMGET', item, 'c', 's', 'm', 'x', 'at', 'n', 'state')
  if not f[1] or f[7] ~= 'pending' then
    redis.call('ZREM', KEYS[1], id) -- expired or settled: nothing to send
  else
    local token = redis.call('HINCRBY', item, 'claim', 1)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    for _, v in ipairs({id, tostring(token), f[1], f[2], f[3], f[4], f[5], f[6]}) do out[#out + 1] = v end
  end
end
return out
