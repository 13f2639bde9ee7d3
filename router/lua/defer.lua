-- Reschedules an outbound entry the channel rate-limited for longer than the consumer's claim
-- can be trusted (retry_after): acknowledges it and keeps it in the deferred set until its
-- deadline, in one step, so a crash neither loses it nor lets reclaim send it early.
-- KEYS[1] {P}:outbound   KEYS[2] {P}:deferred (zset: "<deferrals>|<outbound JSON>", score = due ms)
-- ARGV[1] consumer group   ARGV[2] entry id   ARGV[3] due ms   ARGV[4] deferrals so far (this one included)
-- ARGV[5] outbound JSON
-- returns 1
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4] .. '|' .. ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
