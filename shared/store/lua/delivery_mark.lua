-- Record on a system's own delivery what became of it in a group (worker/jobs/groups.py).
-- KEYS: 1 the system's deliveries hash, 2 the partition's undelivered set
-- ARGV: 1 delivery id, 2 its undelivered member, 3 group id, 4 status, 5 attempts,
--   6 last error ('' none), 7 now ms, 8 '1': only while the delivery is still queued
-- Returns 1 when recorded, 0 when the delivery is gone (purged, trimmed) or no longer queued.
-- Either way it leaves the undelivered set: from here on its group answers for it, so the
-- sweep enqueues the group again, never this delivery on its own.
redis.call('ZREM', KEYS[2], ARGV[2])
local doc = redis.call('HGET', KEYS[1], ARGV[1])
if not doc then return 0 end
local record = cjson.decode(doc)
if ARGV[8] == '1' and record.status ~= 'queued' then return 0 end
record.group_id = ARGV[3]
record.status = ARGV[4]
record.attempts = tonumber(ARGV[5])
if ARGV[6] == '' then record.last_error = cjson.null else record.last_error = ARGV[6] end
record.updated_ms = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return 1
