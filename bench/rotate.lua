-- wrk script of bench/wrk.py for a load spread over many paths: bench/report.lua (its counting
-- and its BENCH_JSON line), with each request's path taken in turn from a file.
-- Script arguments (after `--`): PATHS_FILE, then those of report.lua. PATHS_FILE holds one
-- path a line; each thread starts at a different line so that threads do not move in step.

local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
dofile(here .. "report.lua")

local paths = nil
local next_path = 1
local report_init = init
local report_setup = setup
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("first_path", thread_count)
   report_setup(thread)
end

function init(args)
   paths = {}
   for line in io.lines(args[1]) do
      if line ~= "" then
         table.insert(paths, line)
      end
   end
   assert(#paths > 0, "no path in " .. args[1])
   next_path = ((first_path or 1) - 1) * 7919 % #paths + 1
   local rest = {}
   for i = 2, #args do
      rest[i - 1] = args[i]
   end
   report_init(rest)
end

-- Defined at load time, so wrk builds every request with it. Before init (wrk's check of the
-- script in its main state) there are no paths yet: the plain request.
function request()
   if paths == nil then
      return wrk.request()
   end
   local path = paths[next_path]
   next_path = next_path % #paths + 1
   return wrk.format(nil, path)
end
