-- wrk script: POST the lines of a file as bodies, each thread its own disjoint slice, so every
-- request carries a different (pre-signed, unique) webhook. Lua cannot HMAC: the bodies are
-- signed beforehand by bench/load.py. Usage: wrk ... -s wrk_bodies.lua URL -- FILE THREADS
local next_id = 0
local threads = {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  step = tonumber(args[2])
  counter = id - step
  wrapped = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = "Lever-Webhooks"
end

function request()
  counter = counter + step
  if counter >= #bodies then
    wrapped = 1
  end
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("wrapped") == 1 then
      io.write("bodies wrapped: some requests repeated an earlier body\n")
      return
    end
  end
end
