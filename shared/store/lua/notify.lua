-- Decide whether a system's verdict change is told now, and if so create its deliveries.
-- KEYS: 1 verdict hash, 2 the partition's outbox, 3 mute marker, 4 deliveries hash,
--       5 delivery index, 6 the partition's undelivered set
-- ARGV: 1 system id, 2 now ms, 3 least ms between two notifications of the system,
--       4 deliveries kept, 5 channels as JSON [[channel id, [verdict, ...]], ...],
--       6 why an upstream of the system fails ('' when none does), 7 the system's
--       release_after_s in ms
-- Returns {1, delivery id, ...} when told (no id: no channel cares), {0, why} otherwise; while
-- held for flapping, `held_until_ms` in the verdict hash says until when; while held for a
-- failing upstream, `held_by` says why (and once the upstream no longer fails, `held_until_ms`
-- when it is released).
-- One script: the "notified" verdict moves and the deliveries appear together, so a crash cannot
-- lose or repeat a notification; the jobs that send them are (re)enqueued from the undelivered set.
local sid = ARGV[1]
local now = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'verdict', 'reason', 'since_ms', 'notified', 'notified_ms',
  'held_by', 'held_until_ms')
local verdict, reason, since, notified = v[1], v[2], v[3], v[4]
if not verdict or verdict == notified then
  -- Nothing to tell, and nothing held: a system held for an upstream that recovered meanwhile
  -- is never told.
  redis.call('ZREM', KEYS[2], sid)
  redis.call('HDEL', KEYS[1], 'held_by', 'held_until_ms')
  return {0, 'current'}
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('ZREM', KEYS[2], sid)  -- the sweep puts it back once the mute has ended
  return {0, 'muted'}
end
-- Only the channels that care about this change count: a change nobody is told about (the first
-- evaluations of a new system, NO_DATA -> OK) moves `notified` but starts no flapping interval,
-- so the first real outage is not held back by it.
local caring = {}
for _, channel in ipairs(cjson.decode(ARGV[5])) do
  for _, level in ipairs(channel[2]) do
    if level == verdict or level == notified then caring[#caring + 1] = channel[1]; break end
  end
end
if #caring == 0 then
  redis.call('HSET', KEYS[1], 'notified', verdict)
  redis.call('HDEL', KEYS[1], 'held_until_ms', 'held_by')
  redis.call('ZREM', KEYS[2], sid)
  return {1}
end
-- A change for the worse while an upstream fails is that upstream's doing: held, out of the
-- outbox (the upstream's recovery, or its deletion, puts it back). A recovery is told.
if ARGV[6] ~= '' and verdict ~= 'OK' then
  redis.call('HSET', KEYS[1], 'held_by', ARGV[6])
  redis.call('HDEL', KEYS[1], 'held_until_ms')
  redis.call('ZREM', KEYS[2], sid)
  return {0, 'upstream'}
end
if v[6] then
  -- Held for an upstream that no longer fails: told release_after_s later if still failing.
  local release = tonumber(v[7] or '')
  if not release then
    release = now + tonumber(ARGV[7])
    redis.call('HSET', KEYS[1], 'held_until_ms', release)
  end
  if now < release then
    redis.call('ZADD', KEYS[2], release, sid)
    return {0, 'releasing'}
  end
  redis.call('HDEL', KEYS[1], 'held_by')
end
local due = tonumber(v[5] or '0') + tonumber(ARGV[3])
if now < due then
  redis.call('ZADD', KEYS[2], due, sid)
  redis.call('HSET', KEYS[1], 'held_until_ms', due)  -- listed as held (GET .../notifications)
  return {0, 'flapping'}
end
redis.call('HSET', KEYS[1], 'notified', verdict, 'notified_ms', ARGV[2])
redis.call('HDEL', KEYS[1], 'held_until_ms', 'held_by')
redis.call('ZREM', KEYS[2], sid)
local told = {1}
for _, channel_id in ipairs(caring) do
  local id = sid .. '-' .. since .. '-' .. channel_id
  local record = cjson.encode({
    delivery_id = id, channel_id = channel_id, system_id = tonumber(sid),
    from = notified or 'OK', to = verdict, reason = reason, at_ms = tonumber(since),
    status = 'queued', attempts = 0, last_error = cjson.null, created_ms = now,
    updated_ms = now
  })
  if redis.call('HSETNX', KEYS[4], id, record) == 1 then
    redis.call('ZADD', KEYS[5], now, id)
    redis.call('ZADD', KEYS[6], now, sid .. ':' .. id)
    told[#told + 1] = id
  end
end
local extra = redis.call('ZCARD', KEYS[5]) - tonumber(ARGV[4])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[5], 0, extra - 1)
  redis.call('HDEL', KEYS[4], unpack(old))
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, extra - 1)
end
return told
