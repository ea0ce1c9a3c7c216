-- Shared by every scenario: settings from the environment, per-thread ids, the result line.
-- wrk runs one Lua state per thread; setup() numbers the threads, init() seeds each one.
local env = os.getenv
common = {
  key = env("BENCH_KEY") or "",
  first = tonumber(env("BENCH_FIRST") or "1"),
  last = tonumber(env("BENCH_LAST") or "1"),
  id_format = env("BENCH_ID_FORMAT") or "c-%06d",
  run = env("BENCH_RUN") or "run",
  path = env("BENCH_PATH") or "/",
}
common.channels = {"email", "phone", "im", "meeting", "visit", "sms", "chat"}

wrk.headers["Content-Type"] = "application/json"
if common.key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. common.key
end

local thread_count = 0
common.threads = {}
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  common.threads[thread_count] = thread
end

-- Scripts that want non-2xx answers counted by status code call this from response(); done()
-- prints the counts of every thread (wrk's own summary only has their total).
function common.count_status(status)
  if status >= 300 then
    codes = codes or {}
    codes[status] = (codes[status] or 0) + 1
  end
end

function init(args)
  math.randomseed(os.time() + (thread_id or 0) * 7919)
  counter = 0
end

-- A random id in [first, last], formatted (customer ids, or plain numbers).
function common.id()
  return string.format(common.id_format, math.random(common.first, common.last))
end

-- A key unique in this run: the run's tag, the thread and a counter.
function common.unique(prefix)
  counter = counter + 1
  return string.format("%s-%s-%d-%d", prefix, common.run, thread_id or 0, counter)
end

function common.instant(seconds_ago)
  return os.date("!%Y-%m-%dT%H:%M:%S+00:00", os.time() - seconds_ago)
end

function common.touch(external_id, max_age_seconds)
  local channel = common.channels[math.random(#common.channels)]
  local direction = math.random() < 0.2 and "inbound" or "outbound"
  return string.format(
    '{"customer_id":"%s","channel":"%s","occurred_at":"%s","direction":"%s",' ..
    '"category":"sales","actor":{"rep_id":"rep-%03d","team":"north-sales"},' ..
    '"depth":"value","source":"wrk","external_id":"%s"}',
    common.id(), channel, common.instant(math.random(0, max_age_seconds)), direction,
    math.random(0, 99), external_id)
end

-- One line the harness parses; latencies in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%.0f duration_us=%.0f bytes=%.0f connect=%.0f read=%.0f " ..
    "write=%.0f status=%.0f timeout=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f " ..
    "max_us=%.0f mean_us=%.0f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  local parts = {}
  for _, thread in ipairs(common.threads) do
    local counted = thread:get("codes")
    if type(counted) == "table" then
      for status, n in pairs(counted) do
        parts[#parts + 1] = string.format("%d=%d", status, n)
      end
    end
  end
  if #parts > 0 then
    io.write("BENCH_CODES " .. table.concat(parts, " ") .. "\n")
  end
end
