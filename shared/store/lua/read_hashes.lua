-- Read many hashes of one partition in one call: the health reads of a batch of systems. The
-- client's cost follows the number of commands it sends and replies it parses, not their size,
-- so one command for hundreds of hashes is what lets the evaluator keep up with a fleet.
-- KEYS: the hashes. ARGV: 1 how many of KEYS (the first ones) are read whole, 2.. the fields
-- read from each of the others.
-- Returns one array per key, in order: field, value, ... for a whole one; the values of the
-- fields (false when absent) for the others.
local whole = tonumber(ARGV[1])
local fields = {unpack(ARGV, 2)}
local out = {}
for i, key in ipairs(KEYS) do
  if i <= whole then
    out[i] = redis.call('HGETALL', key)
  else
    out[i] = redis.call('HMGET', key, unpack(fields))
  end
end
return out
