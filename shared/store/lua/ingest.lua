-- Append one accepted batch to its partition's stream, unless the partition's backlog is at its
-- limit (load shedding) or the system is over its rate limit.
--
-- The backlog check is exact (events_in − events_out of this partition, read atomically with the
-- append), so the backlog, and with it the memory the streams hold, never exceeds the limit by
-- more than one batch.
--
-- The rate limit is a token bucket that may go into debt: a batch is accepted while the balance is
-- not negative and then costs all its events, so a batch larger than the bucket still passes
-- (once) and the long-run rate still holds. The clock is the server's (TIME), shared by every API
-- replica.
--
-- The deadline is what makes a timeout exact: a store that was paused (SIGSTOP, a long fork, a VM
-- stall) runs the commands buffered on its socket when it resumes, after the API gave up and
-- answered 503. The API passes a deadline on the store's clock that lies well before its own
-- timeout, so a script that runs too late to be answered in time refuses to append.
--
-- KEYS: 1 stream, 2 partition stats hash, 3 rate bucket hash of the system
-- ARGV: 1 event count, 2 rate in events/s (0: unlimited), 3 bucket capacity in events,
--       4 backlog limit of the partition in events, 5 deadline (the store's unix ms; 0: none),
--       then the entry's field/value pairs (none: only charge the rate limit, for a batch that
--       was rejected: bad input costs a client its quota too)
-- Returns {1, entry id} when appended, {0, ms until the balance is back to zero} when over the
-- rate limit, {-1, backlog} when shedding, {-2, ms past the deadline} when too late.
local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)
local deadline = tonumber(ARGV[5])
if deadline > 0 and now_ms > deadline then
  return {-2, now_ms - deadline}
end
local n = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local stats = redis.call('HMGET', KEYS[2], 'events_in', 'events_out')
local backlog = (tonumber(stats[1]) or 0) - (tonumber(stats[2]) or 0)
if backlog >= tonumber(ARGV[4]) then
  return {-1, backlog}
end
if rate > 0 then
  local capacity = tonumber(ARGV[3])
  local state = redis.call('HMGET', KEYS[3], 'tokens', 'ms')
  local tokens = tonumber(state[1]) or capacity
  local last_ms = tonumber(state[2]) or now_ms
  tokens = math.min(capacity, tokens + math.max(0, now_ms - last_ms) * rate / 1000)
  -- Waits and lifetimes are capped at a day: they must stay integers Redis accepts.
  if tokens < 0 then
    return {0, math.min(math.ceil(-tokens * 1000 / rate), 86400000)}
  end
  redis.call('HSET', KEYS[3], 'tokens', tostring(tokens - n), 'ms', now_ms)
  -- Forget the bucket once it would have refilled anyway.
  redis.call('PEXPIRE', KEYS[3], math.min(math.ceil((capacity + n) * 1000 / rate), 86400000) + 1000)
end
if #ARGV == 5 then return {1, ''} end  -- no entry: a rejected batch, charged to the limit only
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))
redis.call('HINCRBY', KEYS[2], 'events_in', n)
return {1, id}
