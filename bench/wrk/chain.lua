-- Rotation chains: every response carries the next refresh token, which goes to the back of this
-- thread's queue; every request takes one from the front. So each token is presented exactly once
-- (a replay would revoke its session) and the pool keeps its size as long as refreshes succeed.
-- Arguments: tokens file (one per line), thread count, method, path, header name, JSON field name.

local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local q = {}
local head = 1
local tail = 0
local method, path, header, pattern

function init(args)
  local nthreads = tonumber(args[2])
  method, path, header = args[3], args[4], args[5]
  pattern = '"' .. args[6] .. '"%s*:%s*"([^"]+)"'
  local me = tid or 0
  local k = 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if k % nthreads == me then
        tail = tail + 1
        q[tail] = line
      end
      k = k + 1
    end
  end
end

function request()
  local token = "pool-exhausted"
  if head <= tail then
    token = q[head]
    q[head] = nil
    head = head + 1
  end
  return wrk.format(method, path, { [header] = token }, nil)
end

function response(status, headers, body)
  local token = string.match(body, pattern)
  if token then
    tail = tail + 1
    q[tail] = token
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
