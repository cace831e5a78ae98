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
-- The deadline covers a script that runs late; the batch marker covers a script that ran in time
-- but whose answer was held up (the store paused before writing it). The marker is set with the
-- append ('a'); an API that got no answer runs fence.lua, which finds 'a' (appended: 202) or sets
-- 'f' (never to be appended: 503), whichever of the two scripts the store runs first. A resend of
-- the same call (the client library retrying on a dropped connection) finds 'a' and appends
-- nothing.
--
-- KEYS: 1 stream, 2 partition stats hash, 3 rate bucket hash of the system, 4 batch marker
-- ARGV: 1 event count, 2 rate in events/s (0: unlimited), 3 bucket capacity in events,
--       4 backlog limit of the partition in events, 5 deadline (the store's unix ms; 0: none),
--       6 batch marker lifetime ms (0: no marker), then the entry's field/value pairs (none:
--       only charge the rate limit, for a batch that was rejected: bad input costs a client its
--       quota too)
-- Returns {1, entry id} when appended, {2, ''} when it had been appended already, {0, ms until
-- the balance is back to zero} when over the rate limit, {-1, backlog} when shedding, {-2, ms
-- past the deadline} when too late, {-3, ''} when fenced.
local marker_ms = tonumber(ARGV[6])
if marker_ms > 0 then
  local prior = redis.call('GET', KEYS[4])
  if prior == 'a' then return {2, ''} end
  if prior then return {-3, ''} end
end
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
if #ARGV == 6 then return {1, ''} end  -- no entry: a rejected batch, charged to the limit only
if marker_ms > 0 then redis.call('SET', KEYS[4], 'a', 'PX', marker_ms) end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 7))
redis.call('HINCRBY', KEYS[2], 'events_in', n)
return {1, id}
