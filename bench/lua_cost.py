"""What a large event costs Redis inside the publish script, against the ways around the script.

`python -m bench.lua_cost [--calls N]`: a private redis-server (so that its command statistics are this
run's alone) takes N events of each size three ways, and reports Redis's own time per call
(`INFO commandstats`) and the client's wall time per call, median:

- script: `publish.lua` with the event as its argument, as the publisher sends it today;
- plain XADD: the same fields appended without the script (no dedupe: the floor);
- XADD, then a script: `MULTI`, the `XADD`, a script that learns the new entry's id the only way a
  script can (`XREVRANGE stream + - COUNT 1`) and records it in the task hash, `EXEC`. This is the
  one-round-trip shape of a publish that keeps large events out of Lua (bench/README.md, "Large events
  out of Lua").

Not part of `make bench`; quoted in bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from bench.bodies import memories_body
from bench.servers import free_port
from receiver.core.publisher import PUBLISH_SCRIPT

SIZES_MIB = (0.3, 3.0)
STREAM, TASK = "lua-cost:events", "lua-cost:task"
TIMED = ("cmdstat_evalsha", "cmdstat_xadd", "cmdstat_exec")
# The script of the third way: the id of the entry the transaction's XADD appended, read back.
READ_BACK = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
redis.call('HSET', KEYS[2], ARGV[1], last[1])
return last[1]
"""


def _event_fields(size_mib: float) -> list[Any]:
    """An event's stream fields, its JSON about `size_mib` MiB (a memories.ai body's size stands in)."""
    event = memories_body(int(size_mib * 1024 * 1024))
    return ["event", event, "event_id", str(uuid.uuid4()), "source", "bench", "provider", "memories",
            "task_id", "t", "status", "succeeded", "schema_version", "2"]  # fmt: skip


def _ways(client: redis.Redis, fields: list[Any]) -> dict[str, Callable[[int], object]]:
    publish = client.script_load(PUBLISH_SCRIPT)
    read_back = client.script_load(READ_BACK)
    event = fields[1]

    def script(n: int) -> object:
        # The script's arguments: the dedupe ttl, no peek, then the thirteen of one event
        # (receiver/publish.lua).
        args = (
            3600,
            "",
            f"e{n}",
            "succeeded",
            2,
            "",
            event,
            "bench",
            "memories",
            f"t{n}",
            "2",
            "",
            "",
            "",
            "why",
        )
        return client.evalsha(publish, 2, STREAM, f"{TASK}{n}", *args)

    def plain(n: int) -> object:
        return client.execute_command("XADD", STREAM, "*", *fields)

    def transaction(n: int) -> object:
        pipe = client.pipeline(transaction=True)
        pipe.execute_command("XADD", STREAM, "*", *fields)
        pipe.evalsha(read_back, 2, STREAM, f"{TASK}{n}", "succeeded")
        return pipe.execute()

    return {"script (today)": script, "plain XADD": plain, "XADD, then a script": transaction}


def measure(client: redis.Redis, calls: int) -> None:
    print(f"{'event':>8}  {'way':<22} {'Redis us/call':>14} {'wall ms/call':>13}")
    for size in SIZES_MIB:
        fields = _event_fields(size)
        for name, way in _ways(client, fields).items():
            client.config_resetstat()
            walls = []
            for n in range(calls):
                started = time.perf_counter()
                way(n)
                walls.append(time.perf_counter() - started)
                client.delete(STREAM)
            stats = client.info("commandstats")
            # The outermost command of the way holds the time of the commands inside it.
            outer = max(TIMED, key=lambda command: stats.get(command, {}).get("usec", 0))
            redis_us = stats[outer]["usec_per_call"]
            print(f"{size:>5} MiB  {name:<22} {redis_us:>14,.0f} {statistics.median(walls) * 1000:>13.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lua_cost", description=__doc__)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args(argv)
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        measure(client, args.calls)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
