"""Entry point: `python -m bench.run` (the Makefile's `make bench`).

Prints the table, writes bench/results.json, exits 1 when the integrity check fails (a 2xx whose
event is not in the stream, a duplicated event, a server or replay that failed). Targets not met
are reported, not turned into a failure: the bench measures, the reader judges.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from bench import deps


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so servers are stopped and Redis keys deleted."""
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="whole seconds of each measured round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved measured rounds per server (the median is kept)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="whole seconds of warm-up before each run")
    parser.add_argument(
        "--servers",
        default="ceiling,byhand,videohooks",
        help="comma-separated subset of ceiling,byhand,videohooks",
    )
    parser.add_argument(
        "--replay-events", type=int, default=20_000, help="fixtures for replay --direct; 0 skips"
    )
    parser.add_argument(
        "--latency-deliveries",
        type=int,
        default=200,
        help="sequential deliveries for POST->XREADGROUP; 0 skips",
    )
    parser.add_argument(
        "--head-of-line-rounds", type=int, default=2, help="rounds of the head-of-line measurement; 0 skips"
    )
    parser.add_argument(
        "--large-body-rounds",
        type=int,
        default=5,
        help="large deliveries against the floor endpoint; 0 skips",
    )
    parser.add_argument("--no-decode", action="store_true", help="skip the decode MB/s table")
    parser.add_argument(
        "--watch-tasks", type=int, default=100_000, help="watched tasks beside the callbacks; 0 skips"
    )
    parser.add_argument(
        "--watch-seconds", type=int, default=20, help="seconds of callbacks beside the watched tasks"
    )
    parser.add_argument(
        "--copy-mib", type=int, default=256, help="MiB of the file copied against curl -o; 0 skips"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="seconds each measured run may wait for other processes on the machine to go idle",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Even when started with SIGINT ignored (a background job of a script), Ctrl-C must clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    deps.ensure_packages()

    import redis

    from bench import report
    from bench.payload import check_signer
    from bench.settings import RESULTS_PATH, redis_url
    from bench.suite import Options, run_suite
    from bench.targets import Kind
    from bench.wrk import ensure_wrk

    check_signer()
    wrk = ensure_wrk()
    options = Options(
        duration_s=args.duration,
        rounds=args.rounds,
        warmup_s=args.warmup,
        kinds=tuple(Kind(name.strip()) for name in args.servers.split(",") if name.strip()),
        replay_events=args.replay_events,
        latency_deliveries=args.latency_deliveries,
        quiet_wait_s=args.quiet_wait,
        head_of_line_rounds=args.head_of_line_rounds,
        large_body_rounds=args.large_body_rounds,
        decode=not args.no_decode,
        watch_tasks=args.watch_tasks,
        watch_seconds=args.watch_seconds,
        copy_mib=args.copy_mib,
    )
    info = report.machine()
    try:
        suite = run_suite(wrk, options)
    except KeyboardInterrupt:
        print("interrupted: servers stopped, bench keys deleted", file=sys.stderr)
        return 130
    except redis.RedisError as exc:
        print(f"Redis at {redis_url()} failed: {exc}", file=sys.stderr)
        return 2
    data = report.results_json(suite, info)
    report.write_results(data)
    print()
    print(report.table(suite))
    print(f"\nwrote {RESULTS_PATH}")
    return 0 if data["check"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
