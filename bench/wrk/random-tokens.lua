-- A new random token per request, cycling through every format a check accepts, each to the
-- route of its dialect: v3, l3 (under a real account's number) and native API tokens to the
-- Invoicebox check, ChatApp access tokens to /v1/tokens/check, service-account JWTs (the
-- server's real header: kid and alg of its signing key, so the signature is what refuses them)
-- to hoster's /token/info/access. None was ever issued: every answer must be 401.
-- Arguments: account id for l3, the JWT's header (base64url).
-- Prints `BENCH_JSON {…}` as requests.lua does; "status" counts answers other than 401.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local account = "1"
local jwtHeader = "eyJ"
local n = 0
local wrong = 0

local HEX = "0123456789abcdef"
local B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function pick(alphabet, len)
  local out = {}
  local size = #alphabet
  for i = 1, len do
    local k = math.random(1, size)
    out[i] = string.sub(alphabet, k, k)
  end
  return table.concat(out)
end

function init(args)
  account = args[1] or "1"
  jwtHeader = args[2] or "eyJ"
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function request()
  n = n + 1
  local f = n % 5
  if f == 0 then
    return wrk.format("GET", "/v3/security/api/auth/auth", { Authorization = "Bearer " .. pick(HEX, 32) })
  elseif f == 1 then
    return wrk.format("GET", "/v3/security/api/auth/auth", { Authorization = "Bearer " .. account .. "-API:" .. pick(HEX, 32) })
  elseif f == 2 then
    return wrk.format("GET", "/v3/security/api/auth/auth", { Authorization = "Bearer tdo_" .. pick(B62, 33) })
  elseif f == 3 then
    return wrk.format("GET", "/v1/tokens/check", { Authorization = "tda_" .. pick(B62, 33) })
  else
    return wrk.format("GET", "/token/info/access", { ["Access-Token"] = jwtHeader .. "." .. pick(B64, 180) .. "." .. pick(B64, 86) })
  end
end

function response(status, headers, body)
  if status ~= 401 then wrong = wrong + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("wrong") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, bad, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
