-- Take the waiting ends whose wait is over, for the jobs' sweep (worker/jobs/late_ends.py).
-- KEYS: 1 waiting ends due zset
-- ARGV: 1 now ms, 2 lease ms, 3 most fields to take
-- Returns the fields due; each is due again a lease later, so a sweep that dies before counting
-- one leaves it to the next (the end's event id keeps a repeat from counting twice).
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local again = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, field in ipairs(due) do
  redis.call('ZADD', KEYS[1], again, field)
end
return due
