-- wrk driver for the registry benchmarks.
--   wrk -t2 -c4 -d15s -s bench/wrk/registry.lua http://127.0.0.1:PORT -- MODE DATAFILE THREADS [OFFSET]
-- MODE: me | check | search | search500 | booking | verify. DATAFILE (written by bench/prepare.py) defines
-- DATA = {token, check, search, booking, serials}. Every request gets the next item of its
-- list: request n of thread i is item (OFFSET + n * THREADS + i), so no two requests share a
-- booking slot, across runs too when each run starts at the previous run's end. done() prints
-- one line "WRK_JSON {...}": counts, percentiles, status counts, and the latency histogram
-- (100-microsecond buckets) so that several runs can be merged exactly.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  dofile(args[2])
  nthreads = tonumber(args[3]) or 1
  offset = tonumber(args[4]) or 0
  counter = 0
  statuses = {}
  auth = {["Authorization"] = "Token " .. DATA.token, ["Content-Type"] = "application/json",
          ["Accept"] = "application/json"}
  anonymous = {["Accept"] = "application/json"}
  auth500 = {["Authorization"] = "Token " .. (DATA.token500 or ""), ["Content-Type"] = "application/json",
             ["Accept"] = "application/json"}
end

local function item(list)
  local n = offset + counter * nthreads + id
  counter = counter + 1
  return list[(n % #list) + 1], n >= #list
end

function request()
  if mode == "me" then
    counter = counter + 1
    return wrk.format("GET", "/api/v1/me/", auth)
  elseif mode == "verify" then
    local serial = item(DATA.serials)
    return wrk.format("GET", "/api/v1/verify/" .. serial .. "/", anonymous)
  elseif mode == "check" then
    return wrk.format("POST", "/api/v1/eligibility/check/", auth, (item(DATA.check)))
  elseif mode == "search" then
    return wrk.format("POST", "/api/v1/eligibility/search/", auth, (item(DATA.search)))
  elseif mode == "search500" then  -- the large bench spa's staff, its 500 therapists
    return wrk.format("POST", "/api/v1/eligibility/search/", auth500, (item(DATA.search500)))
  elseif mode == "booking" then
    local body, wrapped = item(DATA.booking)
    if wrapped then wrapped_requests = (wrapped_requests or 0) + 1 end
    return wrk.format("POST", "/api/v1/bookings/", auth, body)
  end
  error("unknown mode " .. tostring(mode))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  local wrapped = 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      counts[code] = (counts[code] or 0) + n
    end
    wrapped = wrapped + (thread:get("wrapped_requests") or 0)
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  local buckets = {}
  pcall(function()  -- wrk >= 4.1: #latency distinct values, latency(i) -> value, count
    for i = 1, #latency do
      local value, count = latency(i)
      local bucket = math.floor(value / 100)
      buckets[bucket] = (buckets[bucket] or 0) + count
    end
  end)
  local histogram = {}
  for bucket, count in pairs(buckets) do
    table.insert(histogram, string.format('"%d": %d', bucket, count))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "statuses": {%s}, "errors": {"connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "status": %d}, "wrapped": %d, "histogram_100us": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout, e.status, wrapped,
    table.concat(histogram, ", ")))
end
