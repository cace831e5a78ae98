-- Record one evaluation of some systems' verdicts (one partition's); a change becomes exactly
-- one transition. One call for a batch: the evaluator records hundreds of systems a pass.
-- KEYS: 1 the partition's outbox, 2 the partition's verdicts, then per system: its verdict
-- hash, its transitions stream
-- ARGV: 1 evaluated at (ms), 2 transitions kept (approx.), then per system: its id, verdict,
-- reason, and what it was judged on: the policy's window (events, error ratio, p95 latency in
-- ms) and the newest event's ts (ms; 0: none)
-- Returns per system, in order, two values: 1 and the previous verdict ('' the first time) on a
-- change, else 0 and ''.
-- Compare-and-set: evaluators running at once agree on one transition per change, and an
-- evaluation older than the last one recorded (a slow evaluator) is ignored, never undoing it.
-- The verdicts hash mirrors each system's verdict for the fleet overview (one read a partition),
-- with what it was judged on for GET /metrics (the short form when there is nothing to say).
local at = tonumber(ARGV[1])
local out = {}
local function mirror(verdict, reason, since, events, ratio, p95, last)
  if events > 0 or last > 0 then
    return cjson.encode({verdict, reason, since, at, events, ratio, p95, last})
  end
  return cjson.encode({verdict, reason, since, at})
end
for i = 1, (#KEYS - 2) / 2 do
  local verdict_key, transitions_key = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local a = 7 * i - 4
  local id, verdict, reason = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local events, ratio, p95 = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local last = tonumber(ARGV[a + 6])
  local current = redis.call('HMGET', verdict_key, 'verdict', 'evaluated_ms', 'since_ms')
  local status, before = 0, ''
  if current[2] and at < tonumber(current[2]) then
    -- older than what is recorded: nothing
  elseif current[1] == verdict then
    redis.call('HSET', verdict_key, 'evaluated_ms', ARGV[1], 'reason', reason)
    local since = tonumber(current[3] or ARGV[1])
    redis.call('HSET', KEYS[2], id, mirror(verdict, reason, since, events, ratio, p95, last))
  else
    redis.call('HSET', verdict_key, 'verdict', verdict, 'reason', reason, 'since_ms', ARGV[1],
      'evaluated_ms', ARGV[1])
    redis.call('HSET', KEYS[2], id, mirror(verdict, reason, at, events, ratio, p95, last))
    if not current[1] then
      -- A new system: what was last "told" is OK, so a system that starts out failing is notified.
      redis.call('HSET', verdict_key, 'notified', 'OK', 'notified_ms', '0')
    end
    redis.call('XADD', transitions_key, 'MAXLEN', '~', ARGV[2], '*',
      'from', current[1] or '', 'to', verdict, 'reason', reason, 'at', ARGV[1])
    redis.call('ZADD', KEYS[1], 'NX', ARGV[1], id)
    status, before = 1, current[1] or ''
  end
  out[2 * i - 1], out[2 * i] = status, before
end
return out
