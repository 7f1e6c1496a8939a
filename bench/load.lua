-- wrk script of the videohooks bench: replays pre-signed, unique deliveries.
-- Arguments (after --): records file, body prefix file, body suffix file.
-- Each record line is "webhook-id task-id timestamp signature"; the body is prefix..task-id..suffix,
-- the exact bytes bench/deliveries.py signed. Past the last record it wraps and counts the wrap,
-- so the harness can say that deliveries were repeated. done() prints one JSON line for Python.

local records = {}
local count = 0
local index = 0
local prefix, suffix, head
local threads = {}

-- Globals: read from each thread's Lua state by done() through thread:get().
sent = 0
wraps = 0
status_counts = {}

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local id, task, ts, sig = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    count = count + 1
    records[count] = { id, task, ts, sig }
  end
  prefix = slurp(args[2])
  suffix = slurp(args[3])
  head = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
    "\r\nContent-Type: application/json\r\nwebhook-id: "
end

-- Builds the raw request with one concatenation rather than wrk.format: wrk shares the 2 cores
-- with the server, and wrk.format's header table and extra body copy cost it about twice the CPU.
function request()
  index = index + 1
  if index > count then
    index = 1
    wraps = wraps + 1
  end
  sent = sent + 1
  local r = records[index]
  local task = r[2]
  return head .. r[1] .. "\r\nwebhook-timestamp: " .. r[3] .. "\r\nwebhook-signature: " .. r[4] ..
    "\r\nContent-Length: " .. (#prefix + #task + #suffix) .. "\r\n\r\n" .. prefix .. task .. suffix
end

function response(status, headers, body)
  status_counts[status] = (status_counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local statuses = {}
  local total_sent, total_wraps = 0, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_wraps = total_wraps + thread:get("wraps")
    for status, n in pairs(thread:get("status_counts")) do
      statuses[status] = (statuses[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(statuses) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, "sent": %d, "wraps": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, "statuses": {%s}}\n',
    summary.duration, summary.requests, summary.bytes, total_sent, total_wraps,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ", ")))
end
