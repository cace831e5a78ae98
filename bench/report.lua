-- wrk script of bench/wrk.py.
-- Script arguments (after `--`): METHOD BODY_FILE [DELAY_MS [HEADER...]], where BODY_FILE "-"
-- means no body, DELAY_MS (default 0) is a pause before each request of a connection, to offer a
-- lower rate than the closed loop's maximum, and each HEADER is one "Name: value" request header.
-- Counts non-2xx responses per thread (and those of them carrying Retry-After) and prints one
-- `BENCH_JSON {...}` line from done().

local threads = {}

-- Per-thread globals (each wrk thread runs its own Lua state; done() reads them with t:get).
non2xx = 0
retry_after = 0
codes = {}
sample = ""
delay_ms = 0

function setup(thread)
   table.insert(threads, thread)
end

function delay()
   return delay_ms
end

function init(args)
   wrk.method = args[1]
   delay_ms = tonumber(args[3] or "0")
   if args[2] and args[2] ~= "-" then
      local f = assert(io.open(args[2], "rb"))
      wrk.body = f:read("*a")
      f:close()
      wrk.headers["Content-Type"] = "application/json"
   end
   for i = 4, #args do
      local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
      wrk.headers[name] = value
   end
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      codes[status] = (codes[status] or 0) + 1
      for name, _ in pairs(headers) do
         if string.lower(name) == "retry-after" then
            retry_after = retry_after + 1
            break
         end
      end
      if sample == "" then
         sample = status .. " " .. string.sub(body or "", 1, 300)
      end
   end
end

local function quote(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function done(summary, latency, requests)
   local bad, retried, first = 0, 0, ""
   local by_code = {}
   for _, t in ipairs(threads) do
      bad = bad + t:get("non2xx")
      retried = retried + t:get("retry_after")
      for code, n in pairs(t:get("codes")) do
         by_code[code] = (by_code[code] or 0) + n
      end
      local s = t:get("sample")
      if first == "" and s ~= "" then
         first = s
      end
   end
   local code_parts = {}
   for code, n in pairs(by_code) do
      table.insert(code_parts, string.format('"%d":%d', code, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,'
         .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
         .. '"non2xx":%d,"retry_after":%d,"non2xx_codes":{%s},"non2xx_sample":%s,'
         .. '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,'
         .. '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      bad, retried, table.concat(code_parts, ","), quote(first),
      latency.min, latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9)
   ))
end
