#!/usr/bin/env python3
"""Events per second into `cvmd serve` with wrk on loopback: /v1/track (one event per
request), /v1/batch (100 events per request) and, in the same run, /health (no store write)
as the server's own ceiling. Latency percentiles from wrk.

With EVENTS_PER_SECOND, /v1/batch is also run paced: each connection waits after every
answer so that all of them together offer about that many events a second (wrk's delay()),
which gives the latency at that load rather than at the most the server can take. Twice:
with the same wait everywhere (connections answered together come back together, a
synchronised crowd), and with waits drawn from an exponential distribution of the same mean
(independent senders: arrivals close to a Poisson stream).

Every call carries a messageId and a timestamp, as Segment's libraries send them.
DURABILITY=power in the environment runs the daemon with server.durability: power.

usage: bench/bench_serve.py BUILD_DIR [SECONDS] [CONNECTIONS] [EVENTS_PER_SECOND] [paced-only]"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

build = pathlib.Path(sys.argv[1]).resolve()
seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
connections = int(sys.argv[3]) if len(sys.argv) > 3 else 32
paced_rate = int(sys.argv[4]) if len(sys.argv) > 4 else 0
paced_only = len(sys.argv) > 5 and sys.argv[5] == "paced-only"
durability = os.environ.get("DURABILITY", "process")  # server.durability: process or power
cvmd = build / "cvmd"
token = "bench-token-0123456789"

HEADERS = '{["Content-Type"] = "application/json", ["Authorization"] = "Bearer TOKEN"}'
# Random numbers in the properties: every event is a new row (identical ones are one row).
# As Segment's libraries send them: a messageId (random, like their UUIDs) and a timestamp on
# every call; random numbers in the properties, so every event is a new row.
MESSAGE_ID = """
-- Each wrk thread has a Lua state of its own with the same default seed: without a seed of
-- its own, both would send the same ids and numbers, and half the events would be repeats.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
init = function(args)
  math.randomseed(os.time() * 100 + thread_number)
end
local function message_id()
  return string.format("ajs-%08x-%04x-4%03x-%04x-%08x%04x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
                       math.random(0, 0xfff), math.random(0, 0xffff), math.random(0, 0x7fffffff), math.random(0, 0xffff))
end
"""
TRACK = MESSAGE_ID + """
request = function()
  local body = string.format('{"userId":"c%d","event":"Product Viewed","messageId":"%s","timestamp":"%s","properties":{"n":%d}}',
                             math.random(1000), message_id(), os.date("!%Y-%m-%dT%H:%M:%SZ"), math.random(1000000000))
  return wrk.format("POST", "/v1/track", HEADERS, body)
end
"""
BATCH = MESSAGE_ID + """
request = function()
  local items = {}
  local n = math.random(1000000000)
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  for i = 1, 100 do
    items[i] = string.format('{"type":"track","userId":"c%d","event":"Product Viewed","messageId":"%s","timestamp":"%s","properties":{"n":%d}}',
                             i, message_id(), now, n + i)
  end
  return wrk.format("POST", "/v1/batch", HEADERS, '{"batch":[' .. table.concat(items, ",") .. ']}')
end
"""
# Milliseconds each connection waits after an answer; the answer's own time comes on top,
# so the offered rate is a little under the target.
PACING = """
delay = function()
  return DELAY
end
"""
RANDOM_PACING = """
delay = function()
  return -math.log(1 - math.random()) * DELAY
end
"""


def script(path, text):
    path.write_text(text.replace("HEADERS", HEADERS).replace("TOKEN", token))
    return str(path)


def run_wrk(url, lua=None, duration=seconds):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if lua:
        command += ["-s", lua]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    distribution = out[out.index("Latency Distribution"):]
    p50 = re.search(r"50%\s+(\S+)", distribution).group(1)
    p99 = re.search(r"99%\s+(\S+)", distribution).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(non2xx.group(1)) if non2xx else 0


with tempfile.TemporaryDirectory() as work:
    work = pathlib.Path(work)
    (work / "scenarios").mkdir()
    (work / "cvmd.yaml").write_text(f"store: shop.db\nscenarios: scenarios\nserver:\n  api_tokens: [\"{token}\"]\n"
                                    f"  cycle_every: 1 hour\n  durability: {durability}\n")
    (work / "c.csv").write_text("customer_id,email\nc0,c0@x.example\n")
    subprocess.run([str(cvmd), "--config", str(work / "cvmd.yaml"), "import", "customers", str(work / "c.csv")],
                   check=True, capture_output=True)
    server = subprocess.Popen([str(cvmd), "--config", str(work / "cvmd.yaml"), "serve", "--listen", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = "http://" + re.search(r"listening on (\S+)", server.stdout.readline()).group(1)
        time.sleep(1)
        if not paced_only:
            health = run_wrk(base + "/health")
            tracks = run_wrk(base + "/v1/track", script(work / "track.lua", TRACK))
            batches = run_wrk(base + "/v1/batch", script(work / "batch.lua", BATCH))
            print(f"/health   : {health[0]:8.0f} requests/s, p50 {health[1]}, p99 {health[2]}")
            print(f"/v1/track : {tracks[0]:8.0f} events/s, p50 {tracks[1]}, p99 {tracks[2]}, non-2xx {tracks[3]}")
            print(f"/v1/batch : {batches[0] * 100:8.0f} events/s ({batches[0]:.0f} requests/s of 100), "
                  f"p50 {batches[1]}, p99 {batches[2]}, non-2xx {batches[3]}")
        if paced_rate:
            delay = connections * 100 * 1000 / paced_rate
            paced = run_wrk(base + "/v1/batch",
                            script(work / "paced.lua", BATCH + PACING.replace("DELAY", f"{delay:.3f}")))
            print(f"/v1/batch paced for {paced_rate} events/s: {paced[0] * 100:8.0f} events/s, "
                  f"p50 {paced[1]}, p99 {paced[2]}, non-2xx {paced[3]}")
            paced = run_wrk(base + "/v1/batch",
                            script(work / "random.lua", BATCH + RANDOM_PACING.replace("DELAY", f"{delay:.3f}")))
            print(f"/v1/batch paced for {paced_rate} events/s, random waits: {paced[0] * 100:8.0f} events/s, "
                  f"p50 {paced[1]}, p99 {paced[2]}, non-2xx {paced[3]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    events = subprocess.run(["sqlite3", str(work / "shop.db"), "SELECT count(*) FROM events"],
                            capture_output=True, text=True).stdout.strip()
    print(f"events stored: {events}")
