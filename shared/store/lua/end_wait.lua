-- An end reported before its start waits for it (start_record.lua hands it over), unless the
-- start is known by now. Atomic against start_record.lua, so that one of the two always sees the
-- other: the end is counted with its duration whichever report comes first.
-- KEYS: 1 starts hash of the system, 2 waiting ends hash, 3 waiting ends due zset (partition's)
-- ARGV: 1 pairing id, 2 waiting end field "<system id> <pairing id>", 3 its value, 4 due ms
-- Returns the start's value when it is known (nothing is written), else false: the end waits
-- (an end already waiting under the field is kept: a retried report changes nothing).
local start = redis.call('HGET', KEYS[1], ARGV[1])
if start then
  return start
end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 1 then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
end
return false
