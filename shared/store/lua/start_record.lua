-- Record a start (ping URL or OpenLineage) and hand over the end reported before it, if one waits.
-- KEYS: 1 starts hash of the system, 2 waiting ends hash of the partition
-- ARGV: 1 pairing id, 2 start value "<ts_ms> <run_id>", 3 start ts ms, 4 starts hash ttl s,
--       5 waiting end field "<system id> <pairing id>"
-- Returns the waiting end's value, or false. A start already known with an earlier ts is kept,
-- so a retried or repeated start does not move it.
local known = redis.call('HGET', KEYS[1], ARGV[1])
if (not known) or tonumber(string.sub(known, 1, string.find(known, ' ', 1, true) - 1)) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('HGET', KEYS[2], ARGV[5])
