-- Register a system by name, atomically and idempotently.
-- KEYS: 1 id sequence, 2 name -> id hash, 3 id -> system JSON hash
-- ARGV: 1 name, 2 description, 3 created_at, 4 "1" when a description was given
-- Returns {1, json} when created, {0, json} when the name was already registered.
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  return {0, redis.call('HGET', KEYS[3], existing)}
end
local id = redis.call('INCR', KEYS[1])
local description = cjson.null
if ARGV[4] == '1' then description = ARGV[2] end
local doc = cjson.encode({
  system_id = id, name = ARGV[1], description = description, created_at = ARGV[3]
})
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('HSET', KEYS[3], id, doc)
return {1, doc}
