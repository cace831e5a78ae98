-- Take the systems whose due time has come off a partition's due set: at most ARGV[2] of them,
-- the earliest first. The rest stay for the next pass (a ZREMRANGEBYSCORE after a bounded
-- ZRANGEBYSCORE would drop them unevaluated).
-- KEYS: 1 the due set. ARGV: 1 now (ms), 2 the most to take.
-- Returns the members taken.
local taken = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #taken, 1000 do
  redis.call('ZREM', KEYS[1], unpack(taken, i, math.min(i + 999, #taken)))
end
return taken
