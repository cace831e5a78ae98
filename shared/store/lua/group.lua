-- A channel's group of notifications (worker/jobs/groups.py): join it, or close it once due.
-- KEYS (all in the registry's slot): 1 the channel's open group, 2 its members, 3 groups_due,
--   4 group_joined, 5 group_seq, 6 group_deliveries, 7 group_delivery_index,
--   8 groups_undelivered
-- ARGV: 1 'join' or 'close', 2 channel id, 3 now ms, 4 grouped deliveries kept,
--   5 most members a group holds; 'join' also: 6 member id (the system's delivery id),
--   7 member JSON, 8 the member's transition ms, 9 the channel's window ms
-- 'join' returns {group id, closed group id or ''}: the group the member is in (the one it
-- joined before, when routed again), and a group closed because it became full. 'close' returns
-- the id of the group closed into a delivery, or '' when the channel has none due.
-- Closing is one step: the group leaves, its delivery appears (queued, in groups_undelivered,
-- from where the sweep enqueues it again after a crash), so a group goes out once and whole.
local channel_id, now = ARGV[2], tonumber(ARGV[3])

local function close()
  local g = redis.call('HMGET', KEYS[1], 'group_id', 'opened_ms')
  local id = g[1]
  local members = {}
  for _, doc in ipairs(redis.call('HVALS', KEYS[2])) do members[#members + 1] = cjson.decode(doc) end
  local record = cjson.encode({
    delivery_id = id, channel_id = tonumber(channel_id), group = true, members = members,
    opened_ms = tonumber(g[2]), status = 'queued', attempts = 0, last_error = cjson.null,
    created_ms = now, updated_ms = now
  })
  if redis.call('HSETNX', KEYS[6], id, record) == 1 then
    redis.call('ZADD', KEYS[7], now, id)
    redis.call('ZADD', KEYS[8], now, id)
  end
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], channel_id)
  local extra = redis.call('ZCARD', KEYS[7]) - tonumber(ARGV[4])
  if extra > 0 then
    local old = redis.call('ZRANGE', KEYS[7], 0, extra - 1)
    redis.call('HDEL', KEYS[6], unpack(old))
    redis.call('ZREMRANGEBYRANK', KEYS[7], 0, extra - 1)
  end
  return id
end

if ARGV[1] == 'close' then
  local due = redis.call('HGET', KEYS[1], 'due_ms')
  if not due then
    redis.call('ZREM', KEYS[3], channel_id)
    return ''
  end
  if tonumber(due) > now then
    redis.call('ZADD', KEYS[3], due, channel_id)  -- puts back a due time lost
    return ''
  end
  return close()
end

local member = ARGV[6]
local before = redis.call('HGET', KEYS[4], member)
if before then return {before, ''} end
local id = redis.call('HGET', KEYS[1], 'group_id')
if not id then
  -- The window is measured from the first member's transition (not from when it is routed):
  -- a member routed late, by the sweep, is not held back a whole window more.
  local opened = math.min(tonumber(ARGV[8]), now)
  local due = opened + tonumber(ARGV[9])
  id = 'g' .. redis.call('INCR', KEYS[5])
  redis.call('HSET', KEYS[1], 'group_id', id, 'opened_ms', opened, 'due_ms', due)
  redis.call('ZADD', KEYS[3], due, channel_id)
end
redis.call('HSET', KEYS[2], member, ARGV[7])
redis.call('HSET', KEYS[4], member, id)
local closed = ''
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then closed = close() end
return {id, closed}
