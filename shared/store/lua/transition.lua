-- Record one evaluation of a system's verdict; a change becomes exactly one transition.
-- KEYS: 1 verdict hash, 2 transitions stream, 3 the partition's outbox, 4 the partition's verdicts
-- ARGV: 1 verdict, 2 reason, 3 evaluated at (ms), 4 system id, 5 transitions kept (approx.)
-- Returns {1, previous verdict ('' the first time)} on a change, else {0}.
-- Compare-and-set: evaluators running at once agree on one transition per change, and an
-- evaluation older than the last one recorded (a slow evaluator) is ignored, never undoing it.
-- The verdicts hash mirrors each system's verdict for the fleet overview (one read a partition).
local current = redis.call('HMGET', KEYS[1], 'verdict', 'evaluated_ms', 'since_ms')
local at = tonumber(ARGV[3])
if current[2] and at < tonumber(current[2]) then return {0} end
if current[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'evaluated_ms', ARGV[3], 'reason', ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[4],
    cjson.encode({ARGV[1], ARGV[2], tonumber(current[3] or ARGV[3]), at}))
  return {0}
end
redis.call('HSET', KEYS[1], 'verdict', ARGV[1], 'reason', ARGV[2], 'since_ms', ARGV[3],
  'evaluated_ms', ARGV[3])
redis.call('HSET', KEYS[4], ARGV[4], cjson.encode({ARGV[1], ARGV[2], at, at}))
if not current[1] then
  -- A new system: what was last "told" is OK, so a system that starts out failing is notified.
  redis.call('HSET', KEYS[1], 'notified', 'OK', 'notified_ms', '0')
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
  'from', current[1] or '', 'to', ARGV[1], 'reason', ARGV[2], 'at', ARGV[3])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[4])
return {1, current[1] or ''}
