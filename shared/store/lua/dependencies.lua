-- Replace one system's upstreams, or drop every edge of a deleted system, atomically with the
-- cycle check: no other write of the graph interleaves, so two concurrent PUTs cannot each
-- pass the check and together close a cycle.
-- KEYS: 1 depends_on hash (id -> JSON list of upstream ids), 2 dependents hash (id -> JSON list
--       of downstream ids), 3 graph version, 4 the registry's systems hash
-- ARGV: 1 'set' or 'drop', 2 system id, 3 ('set') JSON list of its new upstream ids
-- Returns, for 'set': {0} done; {1} the system is unknown; {2, id} an upstream is unknown;
--   {3, id, ...} the edges would close a cycle: its ids, from the system back to itself.
-- For 'drop': {0, id, ...} the ids of its former direct downstreams.
local sid = ARGV[2]

local function list(key, id)
  local raw = redis.call('HGET', key, id)
  if not raw then return {} end
  return cjson.decode(raw)
end

local function store(key, id, ids)
  if #ids == 0 then
    redis.call('HDEL', key, id)
  else
    table.sort(ids)
    redis.call('HSET', key, id, cjson.encode(ids))
  end
end

local function without(ids, gone)
  local kept = {}
  for _, id in ipairs(ids) do
    if tostring(id) ~= tostring(gone) then kept[#kept + 1] = id end
  end
  return kept
end

local function unlink_downstream(upstream, downstream)
  store(KEYS[2], tostring(upstream), without(list(KEYS[2], tostring(upstream)), downstream))
end

if ARGV[1] == 'drop' then
  local ups, downs = list(KEYS[1], sid), list(KEYS[2], sid)
  for _, up in ipairs(ups) do unlink_downstream(up, sid) end
  for _, down in ipairs(downs) do
    store(KEYS[1], tostring(down), without(list(KEYS[1], tostring(down)), sid))
  end
  redis.call('HDEL', KEYS[1], sid)
  redis.call('HDEL', KEYS[2], sid)
  redis.call('INCR', KEYS[3])
  local out = {0}
  for _, down in ipairs(downs) do out[#out + 1] = down end
  return out
end

if redis.call('HEXISTS', KEYS[4], sid) == 0 then return {1} end
local new = cjson.decode(ARGV[3])
local wanted = {}
for _, up in ipairs(new) do
  if redis.call('HEXISTS', KEYS[4], tostring(up)) == 0 then return {2, up} end
  wanted[tostring(up)] = true
end
-- An edge up -> sid closes a cycle when up is sid itself or lies downstream of sid: walk sid's
-- downstream closure (the cost follows that subgraph), remembering how each id was reached.
if wanted[sid] then return {3, tonumber(sid), tonumber(sid)} end
local parent, queue, head = {[sid] = false}, {sid}, 1
while head <= #queue do
  local at = queue[head]
  head = head + 1
  for _, down in ipairs(list(KEYS[2], at)) do
    local d = tostring(down)
    if parent[d] == nil then
      parent[d] = at
      if wanted[d] then
        -- sid -> ... -> d, then the new edge d -> sid
        local path, step = {}, d
        while step do
          table.insert(path, 1, tonumber(step))
          step = parent[step]
        end
        path[#path + 1] = tonumber(sid)
        local out = {3}
        for _, id in ipairs(path) do out[#out + 1] = id end
        return out
      end
      queue[#queue + 1] = d
    end
  end
end
local old = list(KEYS[1], sid)
for _, up in ipairs(old) do unlink_downstream(up, sid) end
for up, _ in pairs(wanted) do
  local downs = without(list(KEYS[2], up), sid)
  downs[#downs + 1] = tonumber(sid)
  store(KEYS[2], up, downs)
end
local ups = {}
for up, _ in pairs(wanted) do ups[#ups + 1] = tonumber(up) end
store(KEYS[1], sid, ups)
redis.call('INCR', KEYS[3])
return {0}
