-- Apply stream entries of one system exactly once, atomically.
--
-- The guard is the pending list: every entry must still be pending for the group, otherwise it was
-- already acknowledged (applied by a consumer that held it before us, or dead-lettered) and
-- applying it again would double-count. The check is read-only, so a stale entry aborts the call
-- before any write and the caller plans again without it. Events with an `event_id` are looked up
-- the same way, read-only, in the sets of ids applied before: a duplicate aborts the call and the
-- caller plans again without it (rare), so the common call adds every event in one pass of
-- increments. Being one script, a crash anywhere leaves either nothing done (the entries stay
-- pending and are delivered again) or everything done.
--
-- KEYS: 1 stream, 2 raw events zset, 3 system meta hash, 4 partition stats hash,
--       5 the partition's dirty set (systems to evaluate), 6 the system's deletion tombstone,
--       7.. counter containers, dedupe sets, the Idempotency-Key marker, the runs index and
--       run summaries (referenced by index in the plan)
-- ARGV: 1 group, 2 event count of the entries, 3 raw cutoff ms, 4 raw ttl ms,
--       5 the Idempotency-Key marker's ttl s, 6 batch guard key index (the Idempotency-Key
--       marker of a single entry; 0: none), 7 runs index key index (0: no runs),
--       8 run retention s,
--       9 the plan as JSON (one argument: packing thousands of values into one string is far
--          cheaper for the client and the server than passing them one by one):
--          {"s": system id, "c": [[key index, expire-at unix s], ...],
--           "n": newest ts ms, "e": newest error ts ms (0: none), "em": its raw member,
--           "m": [ARGV index of the first raw score, ARGV index of the last raw member],
--           "i": [key index, field, amount, ...],
--           "h": [key index, histogram field, ARGV index of its additions (a MessagePack map
--                 {bucket: count}), ...] (appended to the field: shared/model/time_slots.py),
--           "r": [[run key index, run id, events, errors, first ms, last ms, last is error,
--                  last event type, [stage, events, ...]], ...],
--           and with event ids: "g": [event id, ...], "l": [dedupe set key index to look in,
--           ...], "w": the dedupe set key index to add them to, "x": its expire-at unix s}
--          (scores and timestamps are strings, so no precision is lost on the way)
--       10 number of entries n, 11..10+n their ids, then the raw events as score, member pairs,
--       then the histograms' additions; 11 + n + ... : see "m" and "h"
-- Returns {1} when applied; {0, stale entries (1-based)...} or {4, duplicate event ids
-- (1-based in "g")...} when nothing was written; {2} when the batch's Idempotency-Key was applied
-- before (acknowledged and counted out, nothing else); {3} when the system was deleted
-- (acknowledged and counted out, its data not recreated).
--
-- A runtime error inside a script does NOT undo the writes made before it, so every key is
-- type-checked before the first write: a wrong-typed key fails the whole call untouched (the entries
-- stay pending, are retried, and dead-lettered after LSO_MAX_DELIVERIES) instead of half-applying.

local group = ARGV[1]
local batch_guard = tonumber(ARGV[6])
local runs_index = tonumber(ARGV[7])
local run_ttl = tonumber(ARGV[8])
local plan = cjson.decode(ARGV[9])
local n_entries = tonumber(ARGV[10])
local ids = plan.g
-- unpack() has a stack limit: values go to commands 1000 at a time.
local CHUNK = 1000

local function expect(index, wanted)
  local t = redis.call('TYPE', KEYS[index])['ok']
  if t ~= 'none' and t ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. KEYS[index] .. ' is a ' .. t .. ', expected ' .. wanted)
  end
end
local bad = expect(2, 'zset') or expect(3, 'hash') or expect(4, 'hash') or expect(5, 'zset')
if batch_guard ~= 0 then bad = bad or expect(batch_guard, 'string') end
if runs_index ~= 0 then bad = bad or expect(runs_index, 'zset') end
for _, c in ipairs(plan.c) do bad = bad or expect(c[1], 'hash') end
for _, run in ipairs(plan.r) do bad = bad or expect(run[1], 'hash') end
if ids then
  for _, l in ipairs(plan.l) do bad = bad or expect(l, 'set') end
end
if bad then return bad end

local stale = {0}
for i = 1, n_entries do
  local id = ARGV[10 + i]
  if #redis.call('XPENDING', KEYS[1], group, id, id, 1) == 0 then stale[#stale + 1] = i end
end
if #stale > 1 then return stale end
if ids then
  local seen = {4}
  for _, l in ipairs(plan.l) do
    if redis.call('EXISTS', KEYS[l]) == 1 then
      for j = 1, #ids, CHUNK do
        local last = math.min(j + CHUNK - 1, #ids)
        local found = redis.call('SMISMEMBER', KEYS[l], unpack(ids, j, last))
        for k = 1, #found do
          if found[k] == 1 then seen[#seen + 1] = j + k - 1 end
        end
      end
    end
  end
  if #seen > 1 then return seen end
end

redis.call('XACK', KEYS[1], group, unpack(ARGV, 11, 10 + n_entries))
redis.call('HINCRBY', KEYS[4], 'events_out', ARGV[2])
if redis.call('EXISTS', KEYS[6]) == 1 then return {3} end
redis.call('HINCRBY', KEYS[3], 'v', 1)  -- the data version: api/middleware/health_memo.py
redis.call('ZADD', KEYS[5], 'NX', 0, plan.s)  -- worker/jobs/evaluate.py looks at it soon
if batch_guard ~= 0 and not redis.call('SET', KEYS[batch_guard], '1', 'NX', 'EX', ARGV[5]) then
  return {2}
end
if ids then
  for j = 1, #ids, CHUNK do
    redis.call('SADD', KEYS[plan.w], unpack(ids, j, math.min(j + CHUNK - 1, #ids)))
  end
  redis.call('EXPIREAT', KEYS[plan.w], plan.x)
end

local inc = plan.i
for j = 1, #inc, 3 do redis.call('HINCRBY', KEYS[inc[j]], inc[j + 1], inc[j + 2]) end
-- A histogram field is a run of MessagePack maps whose counts add up: a merge appends the new
-- map, and a field grown past COMPACT_BYTES is summed into one map again (decoding and encoding
-- on every merge cost ~25 µs of a ~100-bucket map; appending ~3 µs).
local compact_bytes = tonumber(plan.z)
local merges = plan.h
for j = 1, #merges, 3 do
  local key, name, delta = KEYS[merges[j]], merges[j + 1], ARGV[merges[j + 2]]
  local stored = redis.call('HGET', key, name)
  if not stored then
    redis.call('HSET', key, name, delta)
  elseif #stored + #delta <= compact_bytes then
    redis.call('HSET', key, name, stored .. delta)
  else
    local sum = {}
    for _, map in ipairs({cmsgpack.unpack(stored .. delta)}) do
      for bucket, n in pairs(map) do sum[bucket] = (sum[bucket] or 0) + n end
    end
    redis.call('HSET', key, name, cmsgpack.pack(sum))
  end
end
for _, c in ipairs(plan.c) do redis.call('EXPIREAT', KEYS[c[1]], c[2]) end
local first, last = plan.m[1], plan.m[2]
if last >= first then
  for j = first, last, CHUNK do
    redis.call('ZADD', KEYS[2], unpack(ARGV, j, math.min(j + CHUNK - 1, last)))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end

local function raise(key, field, value)
  if value > tonumber(redis.call('HGET', key, field) or '0') then
    redis.call('HSET', key, field, value)
    return true
  end
  return false
end
local newest, newest_error = tonumber(plan.n), tonumber(plan.e)
if newest > 0 then raise(KEYS[3], 'last_ts', newest) end
if newest_error > 0 and raise(KEYS[3], 'last_error_ts', newest_error) then
  redis.call('HSET', KEYS[3], 'last_error', plan.em)
end

-- Run summaries: counts add up; first/last only move outwards; the newest event names the state
-- (run markers, shared/model/events.py, arrive with zero counts: they only bound and name it).
for _, run in ipairs(plan.r) do
  local key = KEYS[run[1]]
  redis.call('HINCRBY', key, 'events', run[3])
  redis.call('HINCRBY', key, 'errors', run[4])
  local first = tonumber(redis.call('HGET', key, 'first_ms') or '0')
  if first == 0 or tonumber(run[5]) < first then
    redis.call('HSET', key, 'first_ms', run[5])
  end
  local last = tonumber(run[6])
  local stored = redis.call('HMGET', key, 'last_ms', 'last_type')
  local stored_last = tonumber(stored[1] or '0')
  -- On a tie the run's end stays its end, whichever of the two events was applied first.
  if last > stored_last or (last == stored_last and stored[2] ~= 'run_end') then
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
if #plan.r > 0 then
  local cutoff = (tonumber(redis.call('TIME')[1]) - run_ttl) * 1000
  redis.call('ZREMRANGEBYSCORE', KEYS[runs_index], '-inf', '(' .. cutoff)
  redis.call('EXPIRE', KEYS[runs_index], run_ttl)
end
return {1}
