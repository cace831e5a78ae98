-- Re-queue dead-lettered entries: each goes back into its stream as a new entry with its original
-- fields, counted in `events_in` again, and leaves the dead-letter stream, in one atomic step.
-- KEYS: 1 dead-letter stream, 2 stream, 3 partition stats hash
-- ARGV: dead-letter entry ids
-- Returns the number of entries re-queued (ids no longer present are skipped).
local replayed = 0
for _, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 1 then
    local fields, original, events = found[1][2], {}, 0
    for i = 1, #fields, 2 do
      local name = fields[i]
      if string.sub(name, 1, 2) == 'f:' then
        original[#original + 1] = string.sub(name, 3)
        original[#original + 1] = fields[i + 1]
        if name == 'f:n' then events = tonumber(fields[i + 1]) or 0 end
      end
    end
    if #original > 0 then
      redis.call('XADD', KEYS[2], '*', unpack(original))
      redis.call('HINCRBY', KEYS[3], 'events_in', events)
    end
    redis.call('XDEL', KEYS[1], id)
    replayed = replayed + 1
  end
end
return replayed
