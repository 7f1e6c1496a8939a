"""Same-run A/B of two revisions of videohooks: `python -m bench.ab REV_A REV_B [--rounds N]`.

Not part of `make bench`: for a change that must cost nothing (issue 17: tracing off), compare the
revision before it with the revision after it. Each revision is exported with `git archive` into
`bench/.work/ab-<rev>/` and served by the venv's `videohooks serve` with `PYTHONPATH` at that tree, both
with the bench's config (one memories source, tracing off). After a warm-up each, wrk sends the bench's
load (64 connections, unique signed deliveries) for 5 s to one and then the other, the order flipped
every round, waiting for a quiet second before each. Prints each round, each revision's median req/s and
p99, and the per-round ratios B/A: the figure to trust, since both sides of a pair ran within seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import redis

from bench.deliveries import write_deliveries
from bench.noise import wait_for_quiet
from bench.redis_keys import delete_prefix
from bench.servers import Server, free_port
from bench.settings import CALLBACK_PATH, HOST, ROOT_DIR, WORK_DIR, redis_url
from bench.targets import videohooks_binary, write_config
from bench.wrk import ensure_wrk, run_wrk

ROUND_S = 5
DELIVERIES = 60_000  # per round: above what 5 s get here


def export(rev: str) -> Path:
    tree = WORK_DIR / f"ab-{rev}"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT_DIR, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("revs", nargs=2, metavar="REV", help="two git revisions: before, after")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    binary = videohooks_binary()
    if binary is None:
        print("videohooks console script not installed", file=sys.stderr)
        return 2
    wrk, tag = ensure_wrk(), secrets.token_hex(4)
    runs: dict[str, list[tuple[float, float]]] = {rev: [] for rev in args.revs}
    client = redis.Redis.from_url(redis_url())
    try:
        with contextlib.ExitStack() as stack:
            urls = {}
            for number, rev in enumerate(args.revs):
                config = write_config(WORK_DIR / f"ab-{number}.toml", f"bench-{tag}-ab{number}")
                port = free_port()
                argv_ = [binary, "serve", "--config", str(config), "--host", HOST, "--port", str(port)]
                env = {"PYTHONPATH": str(export(rev))}
                server = Server(f"ab-{number}", argv_, port, env=env, ready_path="/readyz")
                stack.enter_context(server)
                urls[rev] = server.base_url + CALLBACK_PATH
                run_wrk(wrk, urls[rev], 2, write_deliveries(WORK_DIR, "ab", f"{tag}-{number}-w-", DELIVERIES))
            for round_ in range(args.rounds):
                order = args.revs if round_ % 2 == 0 else args.revs[::-1]
                for rev in order:
                    wait_for_quiet(10.0)
                    number = args.revs.index(rev)
                    deliveries = write_deliveries(WORK_DIR, "ab", f"{tag}-{number}-{round_}-", DELIVERIES)
                    result = run_wrk(wrk, urls[rev], ROUND_S, deliveries)
                    runs[rev].append((result.rps, result.p99_ms))
                    print(f"round {round_ + 1} {rev}: {result.rps:,.0f} req/s, p99 {result.p99_ms:.1f} ms")
    finally:
        for number in range(len(args.revs)):
            delete_prefix(client, f"bench-{tag}-ab{number}")
        client.close()
    for rev, figures in runs.items():
        rps = statistics.median(value for value, _ in figures)
        p99 = statistics.median(value for _, value in figures)
        print(f"{rev}: median {rps:,.0f} req/s, p99 {p99:.1f} ms")
    before, after = (runs[rev] for rev in args.revs)
    ratios = [b[0] / a[0] for a, b in zip(before, after, strict=True)]
    print("B/A per round: " + ", ".join(f"{ratio:.3f}" for ratio in ratios))
    print(f"B/A median: {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
