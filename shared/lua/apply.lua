-- Apply one stream entry (one batch of one system) exactly once, atomically.
--
-- XACK comes first among the writes and its answer is the guard: 0 means the entry was already
-- acknowledged (applied by a consumer that held it before us, or dead-lettered), so applying it
-- again would double-count. Being one script, a crash anywhere leaves either nothing done (the
-- entry stays pending and is delivered again) or everything done.
--
-- KEYS: 1 stream, 2 raw events zset, 3 system meta hash, 4 partition stats hash,
--       5.. counter containers, dedupe markers, the Idempotency-Key marker, the runs index and
--       run summaries (referenced by index below)
-- ARGV: 1 group, 2 entry id, 3 event count of the entry, 4 raw cutoff ms, 5 raw ttl ms,
--       6 dedupe ttl s, 7 batch guard key index (the Idempotency-Key marker; 0: none),
--       8 runs index key index (0: no runs), 9 run retention s,
--       10 container count C, then C pairs (key index, expire-at unix s),
--       then contributions, each:
--         guard key index (0: unconditional; else a dedupe marker that must not exist yet),
--         newest ts ms, newest error ts ms (0: none), newest error's raw member ("" if none),
--         member count M, M pairs (score, member),
--         increment count K, K triples (key index, field, amount),
--         run count R, R runs: (key index, run id, events, errors, first ms, last ms,
--           last is error 0/1, last event type, stage count S, S pairs (stage, events))
-- Returns {1, events applied} or {0, 0} when the entry had already been acknowledged. A batch whose
-- Idempotency-Key was applied before is acknowledged and counted out, but contributes nothing.
--
-- A runtime error inside a script does NOT undo the writes made before it, so every key is
-- type-checked before the first write: a wrong-typed key fails the whole entry untouched (it stays
-- pending, is retried, and dead-lettered after LSO_MAX_DELIVERIES) instead of half-applying it.

local batch_guard = tonumber(ARGV[7])
local runs_index = tonumber(ARGV[8])
local run_ttl = tonumber(ARGV[9])
local containers = tonumber(ARGV[10])
local first_contribution = 11 + 2 * containers

-- Walks the contributions; calls visit(c, guard, m, k_at, k, r_at, r) for each and returns nothing.
local function each_contribution(visit)
  local i = first_contribution
  while i <= #ARGV do
    local m = tonumber(ARGV[i + 4])
    local k_at = i + 5 + 2 * m
    local k = tonumber(ARGV[k_at])
    local r_at = k_at + 1 + 3 * k
    local r = tonumber(ARGV[r_at])
    local next_i = r_at + 1
    for _ = 1, r do next_i = next_i + 9 + 2 * tonumber(ARGV[next_i + 8]) end
    visit(i, tonumber(ARGV[i]), m, k_at, k, r_at, r)
    i = next_i
  end
end

local function expect(index, wanted)
  local t = redis.call('TYPE', KEYS[index])['ok']
  if t ~= 'none' and t ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. KEYS[index] .. ' is a ' .. t .. ', expected ' .. wanted)
  end
end
local bad = expect(2, 'zset') or expect(3, 'hash') or expect(4, 'hash')
if batch_guard ~= 0 then bad = bad or expect(batch_guard, 'string') end
if runs_index ~= 0 then bad = bad or expect(runs_index, 'zset') end
for j = 11, 10 + 2 * containers, 2 do bad = bad or expect(tonumber(ARGV[j]), 'hash') end
each_contribution(function(_, guard, _, _, _, r_at, r)
  if guard ~= 0 then bad = bad or expect(guard, 'string') end
  local at = r_at + 1
  for _ = 1, r do
    bad = bad or expect(tonumber(ARGV[at]), 'hash')
    at = at + 9 + 2 * tonumber(ARGV[at + 8])
  end
end)
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
each_contribution(function(i, guard, m, k_at, k, r_at, r)
  if guard ~= 0 and not redis.call('SET', KEYS[guard], '1', 'NX', 'EX', ARGV[6]) then
    return
  end
  newest = math.max(newest, tonumber(ARGV[i + 1]))
  local error_ms = tonumber(ARGV[i + 2])
  if error_ms > 0 and error_ms >= newest_error then
    newest_error, newest_error_member = error_ms, ARGV[i + 3]
  end
  for j = i + 5, k_at - 1 do members[#members + 1] = ARGV[j] end
  for j = k_at + 1, k_at + 3 * k, 3 do
    local key = tonumber(ARGV[j])
    local fields = sums[key]
    if not fields then fields = {}; sums[key] = fields end
    fields[ARGV[j + 1]] = (fields[ARGV[j + 1]] or 0) + tonumber(ARGV[j + 2])
  end
  local at = r_at + 1
  for _ = 1, r do
    runs[#runs + 1] = at
    at = at + 9 + 2 * tonumber(ARGV[at + 8])
  end
  applied = applied + m
end)

for key, fields in pairs(sums) do
  for f, n in pairs(fields) do redis.call('HINCRBY', KEYS[key], f, n) end
end
for j = 11, 10 + 2 * containers, 2 do
  redis.call('EXPIREAT', KEYS[tonumber(ARGV[j])], ARGV[j + 1])
end
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
for _, at in ipairs(runs) do
  local key = KEYS[tonumber(ARGV[at])]
  redis.call('HINCRBY', key, 'events', ARGV[at + 2])
  redis.call('HINCRBY', key, 'errors', ARGV[at + 3])
  local first = tonumber(redis.call('HGET', key, 'first_ms') or '0')
  if first == 0 or tonumber(ARGV[at + 4]) < first then
    redis.call('HSET', key, 'first_ms', ARGV[at + 4])
  end
  local last = tonumber(ARGV[at + 5])
  if last >= tonumber(redis.call('HGET', key, 'last_ms') or '0') then
    redis.call('HSET', key, 'last_ms', last, 'last_error', ARGV[at + 6], 'last_type', ARGV[at + 7])
  end
  for s = at + 9, at + 8 + 2 * tonumber(ARGV[at + 8]), 2 do
    redis.call('HINCRBY', key, 's:' .. ARGV[s], ARGV[s + 1])
  end
  local newest_ms = tonumber(redis.call('HGET', key, 'last_ms'))
  redis.call('EXPIREAT', key, math.floor(newest_ms / 1000) + run_ttl)
  redis.call('ZADD', KEYS[runs_index], 'GT', newest_ms, ARGV[at + 1])
end
if #runs > 0 then
  local cutoff = (tonumber(redis.call('TIME')[1]) - run_ttl) * 1000
  redis.call('ZREMRANGEBYSCORE', KEYS[runs_index], '-inf', '(' .. cutoff)
  redis.call('EXPIRE', KEYS[runs_index], run_ttl)
end
return {1, applied}
