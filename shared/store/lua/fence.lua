-- Settle the outcome of an ingest call whose answer never came (see ingest.lua).
-- KEYS: 1 batch marker
-- ARGV: 1 marker lifetime ms
-- Returns 1 when the batch was appended, 0 when it was not and now never will be. Either way it
-- writes, so that a WAITAOF after it on the same connection covers the append it found too.
if redis.call('GET', KEYS[1]) == 'a' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return 1
end
redis.call('SET', KEYS[1], 'f', 'PX', ARGV[1])
return 0
