-- Move one stream entry to the dead-letter stream, atomically with its acknowledgement.
-- KEYS: 1 stream, 2 dead-letter stream, 3 partition stats hash
-- ARGV: 1 group, 2 entry id, 3 event count, 4 dead-letter max length, then field/value pairs
-- Returns 1 when moved, 0 when the entry had already been acknowledged elsewhere.
-- Errors do not undo earlier writes, so the types are checked before the first one.
for i, wanted in ipairs({'stream', 'stream', 'hash'}) do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' is a ' .. t .. ', expected ' .. wanted)
  end
end
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[3], 'events_out', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
return 1
