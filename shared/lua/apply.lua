-- Apply one stream entry (one batch of one system) exactly once, atomically.
--
-- XACK comes first among the writes and its answer is the guard: 0 means the entry was already
-- acknowledged (applied by a consumer that held it before us, or dead-lettered), so applying it
-- again would double-count. Being one script, a crash anywhere leaves either nothing done (the
-- entry stays pending and is delivered again) or everything done.
--
-- KEYS: 1 stream, 2 raw events zset, 3 system meta hash, 4 partition stats hash,
--       5.. counter containers, dedupe markers, the Idempotency-Key marker, the runs index and
--       run summaries (referenced by index in the plan)
-- ARGV: 1 group, 2 entry id, 3 event count of the entry, 4 raw cutoff ms, 5 raw ttl ms,
--       6 dedupe ttl s, 7 batch guard key index (the Idempotency-Key marker; 0: none),
--       8 runs index key index (0: no runs), 9 run retention s,
--       10 the plan as JSON (one argument: packing thousands of values into one string is far
--          cheaper for the client and the server than passing them one by one):
--          {"c": [[key index, expire-at unix s], ...],
--           "k": [[guard key index (0: unconditional; else a dedupe marker that must not exist),
--                  newest ts ms, newest error ts ms (0: none), newest error's raw member,
--                  [score, member, ...], [key index, field, amount, ...],
--                  [[run key index, run id, events, errors, first ms, last ms, last is error,
--                    last event type, [stage, events, ...]], ...]], ...]}
--          (scores and timestamps are strings, so no precision is lost on the way)
-- Returns {1, events applied} or {0, 0} when the entry had already been acknowledged. A batch whose
-- Idempotency-Key was applied before is acknowledged and counted out, but contributes nothing.
--
-- A runtime error inside a script does NOT undo the writes made before it, so every key is
-- type-checked before the first write: a wrong-typed key fails the whole entry untouched (it stays
-- pending, is retried, and dead-lettered after LSO_MAX_DELIVERIES) instead of half-applying it.

local batch_guard = tonumber(ARGV[7])
local runs_index = tonumber(ARGV[8])
local run_ttl = tonumber(ARGV[9])
local plan = cjson.decode(ARGV[10])

local function expect(index, wanted)
  local t = redis.call('TYPE', KEYS[index])['ok']
  if t ~= 'none' and t ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. KEYS[index] .. ' is a ' .. t .. ', expected ' .. wanted)
  end
end
local bad = expect(2, 'zset') or expect(3, 'hash') or expect(4, 'hash')
if batch_guard ~= 0 then bad = bad or expect(batch_guard, 'string') end
if runs_index ~= 0 then bad = bad or expect(runs_index, 'zset') end
for _, c in ipairs(plan.c) do bad = bad or expect(c[1], 'hash') end
for _, k in ipairs(plan.k) do
  if k[1] ~= 0 then bad = bad or expect(k[1], 'string') end
  for _, run in ipairs(k[7]) do bad = bad or expect(run[1], 'hash') end
end
if bad then return bad end

if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return {0, 0}
end
redis.call('HINCRBY', KEYS[4], 'events_out', ARGV[3])
if batch_guard ~= 0 and not redis.call('SET', KEYS[batch_guard], '1', 'NX', 'EX', ARGV[6]) then
  return {1, 0}
end

local sums, members, runs = {}, {}, {}
local applied, newest, newest_error, newest_error_member = 0, 0, 0, ''
for _, k in ipairs(plan.k) do
  if k[1] == 0 or redis.call('SET', KEYS[k[1]], '1', 'NX', 'EX', ARGV[6]) then
    newest = math.max(newest, tonumber(k[2]))
    local error_ms = tonumber(k[3])
    if error_ms > 0 and error_ms >= newest_error then
      newest_error, newest_error_member = error_ms, k[4]
    end
    local m = k[5]
    for j = 1, #m do members[#members + 1] = m[j] end
    local inc = k[6]
    for j = 1, #inc, 3 do
      local fields = sums[inc[j]]
      if not fields then fields = {}; sums[inc[j]] = fields end
      fields[inc[j + 1]] = (fields[inc[j + 1]] or 0) + inc[j + 2]
    end
    for _, run in ipairs(k[7]) do runs[#runs + 1] = run end
    applied = applied + #m / 2
  end
end

for key, fields in pairs(sums) do
  for f, n in pairs(fields) do redis.call('HINCRBY', KEYS[key], f, n) end
end
for _, c in ipairs(plan.c) do redis.call('EXPIREAT', KEYS[c[1]], c[2]) end
-- unpack() has a stack limit; 1000 values are 500 (score, member) pairs.
for j = 1, #members, 1000 do
  redis.call('ZADD', KEYS[2], unpack(members, j, math.min(j + 999, #members)))
end
if #members > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end

local function raise(key, field, value)
  if value > tonumber(redis.call('HGET', key, field) or '0') then
    redis.call('HSET', key, field, value)
    return true
  end
  return false
end
if newest > 0 then raise(KEYS[3], 'last_ts', newest) end
if newest_error > 0 and raise(KEYS[3], 'last_error_ts', newest_error) then
  redis.call('HSET', KEYS[3], 'last_error', newest_error_member)
end

-- Run summaries: counts add up; first/last only move outwards; the newest event names the state.
for _, run in ipairs(runs) do
  local key = KEYS[run[1]]
  redis.call('HINCRBY', key, 'events', run[3])
  redis.call('HINCRBY', key, 'errors', run[4])
  local first = tonumber(redis.call('HGET', key, 'first_ms') or '0')
  if first == 0 or tonumber(run[5]) < first then
    redis.call('HSET', key, 'first_ms', run[5])
  end
  local last = tonumber(run[6])
  if last >= tonumber(redis.call('HGET', key, 'last_ms') or '0') then
    redis.call('HSET', key, 'last_ms', run[6], 'last_error', run[7], 'last_type', run[8])
  end
  local stages = run[9]
  for s = 1, #stages, 2 do
    redis.call('HINCRBY', key, 's:' .. stages[s], stages[s + 1])
  end
  local newest_ms = tonumber(redis.call('HGET', key, 'last_ms'))
  redis.call('EXPIREAT', key, math.floor(newest_ms / 1000) + run_ttl)
  redis.call('ZADD', KEYS[runs_index], 'GT', newest_ms, run[2])
end
if #runs > 0 then
  local cutoff = (tonumber(redis.call('TIME')[1]) - run_ttl) * 1000
  redis.call('ZREMRANGEBYSCORE', KEYS[runs_index], '-inf', '(' .. cutoff)
  redis.call('EXPIRE', KEYS[runs_index], run_ttl)
end
return {1, applied}
