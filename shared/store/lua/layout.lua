-- Read the partition layout, creating it on first use, or change it.
-- KEYS: 1 layout (JSON list of [first system id, partitions] epochs), 2 system id sequence
-- ARGV: 1 "ensure" (create with ARGV[2] partitions if absent) or "set" (new systems use ARGV[2])
-- Returns {layout JSON, highest registered system id}.
-- Systems registered so far keep their partition: a change only starts a new epoch at the next id.
local n = tonumber(ARGV[2])
local doc = redis.call('GET', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if not doc then
  doc = cjson.encode({{1, n}})
  redis.call('SET', KEYS[1], doc)
elseif ARGV[1] == 'set' then
  local epochs = cjson.decode(doc)
  local last = epochs[#epochs]
  if last[2] ~= n then
    if last[1] > seq then
      last[2] = n  -- no system registered under the last epoch yet: amend it
    else
      epochs[#epochs + 1] = {seq + 1, n}
    end
    doc = cjson.encode(epochs)
    redis.call('SET', KEYS[1], doc)
  end
end
return {doc, seq}
