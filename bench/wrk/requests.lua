-- Cycles through pre-built requests: each thread reads the spec file given as the first script
-- argument and keeps every line whose number modulo the thread count is its own index.
-- A line is tab-separated: method, path, body (may be empty), then headers as "Name: value".
-- At the end prints one line `BENCH_JSON {…}` that bench/lib/wrk.ts parses.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(s)
  local out = {}
  local start = 1
  while true do
    local j = string.find(s, "\t", start, true)
    if not j then
      table.insert(out, string.sub(s, start))
      return out
    end
    table.insert(out, string.sub(s, start, j - 1))
    start = j + 1
  end
end

local reqs = {}
local n = 0
local i = 0

function init(args)
  local nthreads = tonumber(args[2] or "1")
  local me = tid or 0
  local k = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if k % nthreads == me then
        local f = split(line)
        local headers = {}
        for h = 4, #f do
          local name, value = string.match(f[h], "^([^:]+):%s*(.*)$")
          if name then headers[name] = value end
        end
        local body = f[3]
        if body == "" then body = nil end
        n = n + 1
        reqs[n] = wrk.format(f[1], f[2], headers, body)
      end
      k = k + 1
    end
  end
  if n == 0 then error("no requests for thread " .. me) end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
