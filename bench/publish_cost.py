"""The publisher's client CPU per event, in instructions, this checkout against a revision from git.

`python -m bench.publish_cost [--before REV]` (default `main`). For batches of 1, 16 and 64 concurrent
events, each side (`bench/publish_worker.py` with `PYTHONPATH` at its tree, the revision exported as
`bench/ab.py` does) publishes 512 prepared events under callgrind, counting only the publishing
(`bench/instructions.py`). Redis runs in its own process
and is not counted: the figure is what the receiver's one core spends. Not part of `make bench`
(callgrind makes it take minutes); quoted in bench/README.md, "Performance markers".
"""

from __future__ import annotations

import argparse
import secrets

import redis

from bench.ab import export
from bench.instructions import counted
from bench.redis_keys import delete_prefix
from bench.settings import BENCH_DIR, PYTHON, ROOT_DIR, WORK_DIR, redis_url
from bench.targets import write_config

BATCHES = (1, 16, 64)
EVENTS = 512


def publish_instructions(tree: str, config: str, batch: int) -> float:
    """Instructions per published event on `tree`'s publisher, batches of `batch`."""
    env = {"PYTHONPATH": tree, "PATH": "/usr/bin:/bin"}
    argv = [PYTHON, "-P", str(BENCH_DIR / "publish_worker.py"), config, str(batch), str(EVENTS // batch)]
    return counted(argv, env) / (EVENTS // batch * batch)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.publish_cost", description=__doc__)
    parser.add_argument("--before", default="main", help="the git revision to compare with (main)")
    args = parser.parse_args(argv)
    prefix = f"bench-{secrets.token_hex(4)}-publish"
    config = str(write_config(WORK_DIR / "publish-cost.toml", prefix))
    trees = {args.before: str(export(args.before)), "this checkout": str(ROOT_DIR)}
    client = redis.Redis.from_url(redis_url())
    try:
        print("publisher client instructions per event (callgrind), by concurrent batch size:")
        for batch in BATCHES:
            figures = {name: publish_instructions(tree, config, batch) for name, tree in trees.items()}
            before, after = figures.values()
            print(
                f"  batch {batch:>3}: {before:>9,.0f} {args.before}, {after:>9,.0f} this checkout"
                f" ({after / before:.2f})"
            )
    finally:
        delete_prefix(client, prefix)
        client.close()


if __name__ == "__main__":
    main()
