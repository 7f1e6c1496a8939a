-- wrk script: load.lua's deliveries, each connection pausing before each request, so that the load
-- stays below the server's capacity and latency shows waiting inside the server, not a queue of
-- requests (wrk alone sends the next request the moment an answer arrives).
-- Arguments: load.lua's three, then the pause in milliseconds. wrk times a request from its sending,
-- so the pause is not in the latency.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "load.lua")

local pause_ms = 0
local load_init = init

function init(args)
  load_init(args)
  pause_ms = tonumber(args[4])
end

function delay()
  return pause_ms
end
