"""The printed table and bench/results.json: figures, ratios, targets and whether each is met."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from bench import asset_copy, headofline, largebody, watch_load
from bench.asset_copy import CopyResult
from bench.decode import DecodeRow, SmallRow
from bench.decode import table as decode_table
from bench.headofline import HEAVY_BYTES, HEAVY_CONNECTIONS, SMALL_CONNECTIONS, HeadOfLineResult
from bench.payload import body_template
from bench.settings import RESULTS_PATH, TARGETS, WRK_CONNECTIONS, WRK_THREADS, redis_url
from bench.suite import ReplayResult, ServerResult, StreamCheck, SuiteResult
from bench.targets import Kind
from bench.watch_load import WatchLoadResult

# Above this many cores taken by other processes, a run's figures say more about them than the server.
NOISE_WARN_CORES = 0.25


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    try:
        redis_version = str(redis.Redis.from_url(redis_url()).info("server")["redis_version"])
    except redis.RedisError:
        redis_version = "unknown"
    return {
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "redis": redis_version,
        "kernel": platform.release(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        # A busy machine skews absolute figures; ratios taken in one run remain comparable.
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _rps(result: ServerResult | None) -> float | None:
    if result is None or result.status != "ok" or result.measured is None:
        return None
    return result.measured.rps


def ratios(suite: SuiteResult) -> dict[str, float | None]:
    vh, ceiling, byhand = (_rps(suite.servers.get(k)) for k in (Kind.VIDEOHOOKS, Kind.CEILING, Kind.BYHAND))
    return {
        "videohooks_over_ceiling": vh / ceiling if vh and ceiling else None,
        "videohooks_over_byhand": vh / byhand if vh and byhand else None,
    }


def targets(suite: SuiteResult) -> dict[str, dict[str, Any]]:
    """Each target with the value measured and whether it is met (None: not measured)."""
    r = ratios(suite)
    vh = suite.servers.get(Kind.VIDEOHOOKS)
    measured = vh.measured if vh and vh.status == "ok" else None
    replay = suite.replay.run if suite.replay and suite.replay.status == "ok" else None
    values: dict[str, tuple[float | None, bool]] = {  # (value, higher is better)
        "videohooks_over_ceiling_min": (r["videohooks_over_ceiling"], True),
        "videohooks_over_byhand_min": (r["videohooks_over_byhand"], True),
        "videohooks_p99_ms_max": (measured.p99_ms if measured else None, False),
        "videohooks_rss_mb_max": (vh.rss_peak_mb if measured and vh else None, False),
        "replay_direct_events_per_s_min": (replay.events_per_s if replay else None, True),
        "head_of_line_p99_ratio_max": (suite.head_of_line.ratio if suite.head_of_line else None, False),
        "large_body_over_floor_max": (
            max(row.ratio for row in suite.large_body) if suite.large_body else None,
            False,
        ),
        "decode_over_baseline_min": (
            min(row.ratio for row in suite.decode[0]) if suite.decode else None,
            True,
        ),
        "watch_callback_p99_ratio_max": (suite.watch_load.p99_ratio if suite.watch_load else None, False),
        "watch_claim_growth_max": (suite.watch_load.claim_growth if suite.watch_load else None, False),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, (value, higher) in values.items():
        goal = TARGETS[name]
        met = None if value is None else (value >= goal if higher else value <= goal)
        out[name] = {"target": goal, "value": None if value is None else round(value, 3), "met": met}
    return out


def checks_passed(suite: SuiteResult) -> bool:
    """The integrity check: every 2xx in the stream, no duplicates, and no server that failed."""
    checks = [s.check for s in suite.servers.values() if s.check is not None]
    if suite.replay and suite.replay.check is not None:
        checks.append(suite.replay.check)
    failed = any(s.status == "failed" for s in suite.servers.values())
    replay_failed = suite.replay is not None and suite.replay.status == "failed"
    return all(c.passed for c in checks) and not failed and not replay_failed


def _server_json(result: ServerResult) -> dict[str, Any]:
    data: dict[str, Any] = {"label": result.label, "status": result.status}
    if result.detail:
        data["detail"] = result.detail
    m = result.measured
    if m is not None:
        data |= {
            "requests_per_s": round(m.rps, 1),
            "p50_ms": m.p50_ms,
            "p90_ms": m.p90_ms,
            "p99_ms": m.p99_ms,
            "max_ms": m.max_ms,
            "requests": m.requests,
            "answered_2xx": m.ok,
            "non_2xx": m.non_2xx,
            "non_2xx_all_rounds": sum(run.non_2xx for run in result.rounds),
            "statuses": m.statuses,
            "socket_errors": m.socket_errors,
            "duration_s": m.duration_s,
            "rss_peak_mb": round(result.rss_peak_mb, 1) if result.rss_peak_mb is not None else None,
            "loadavg_1m_before": result.loadavg_1m_before,
            "other_processes_cpu_cores": result.other_cpu_cores,
            "waited_for_quiet_s": result.quiet_wait_s,
            "deliveries_generated": result.deliveries,
            "deliveries_repeated": result.cycled,
            "warmup": {"requests_per_s": round(result.warmup.rps, 1), "requests": result.warmup.requests}
            if result.warmup
            else None,
            "rounds": [
                {"requests_per_s": round(run.rps, 1), "p50_ms": run.p50_ms, "p99_ms": run.p99_ms}
                for run in result.rounds
            ],
        }
    if result.check is not None:
        data["stream_check"] = asdict(result.check) | {"passed": result.check.passed}
    if result.latency is not None:
        data["consumer_latency"] = asdict(result.latency)
    return data


def results_json(suite: SuiteResult, info: dict[str, Any]) -> dict[str, Any]:
    prefix, suffix = body_template()
    replay: dict[str, Any] | None = None
    if suite.replay is not None:
        rp = suite.replay
        replay = {"status": rp.status, "detail": rp.detail}
        if rp.run is not None:
            replay |= {
                "events": rp.run.events,
                "wall_s": round(rp.run.wall_s, 3),
                "events_per_s": round(rp.run.events_per_s, 1),
                "startup_wall_s_one_event": round(rp.startup.wall_s, 3) if rp.startup else None,
            }
        if rp.shares is not None and rp.run is not None:
            replay["cpu_per_event_us"] = {
                "loading": round(rp.shares.load_us, 1),
                "decode": round(rp.shares.decode_us, 1),
                "publish": round(rp.shares.publish_us, 1),
            }
            replay["cpu_shares"] = {
                name: round(share, 3) for name, share in rp.shares.shares(rp.run.events).items()
            }
            replay["bound_events_per_s_2_cores"] = round(rp.shares.bound_events_per_s(rp.run.events))
        if rp.check is not None:
            replay["stream_check"] = asdict(rp.check) | {"passed": rp.check.passed}
    return {
        "machine": info,
        "load": {
            "tool": "wrk",
            "threads": WRK_THREADS,
            "connections": WRK_CONNECTIONS,
            "duration_s": suite.options.duration_s,
            "rounds": suite.options.rounds,
            "figures": "per server, the median of its interleaved rounds by requests/s",
            "warmup_s": suite.options.warmup_s,
            "body_bytes": len(prefix) + len(suffix) + len(f"{suite.run_tag}-videohooks-m-0000000"),
            "payload": "memories.ai callback, 20 segments, Standard Webhooks signed, every delivery unique",
        },
        "servers": {kind.value: _server_json(result) for kind, result in suite.servers.items()},
        "ratios": {name: None if v is None else round(v, 3) for name, v in ratios(suite).items()},
        "replay_direct": replay,
        "large_body": [
            asdict(row) | {"ratio": round(row.ratio, 2), "inline_ratio": round(row.inline_ratio, 2)}
            for row in suite.large_body or []
        ],
        "head_of_line": _head_of_line_json(suite.head_of_line),
        "watched_tasks": _watch_json(suite.watch_load),
        "asset_copy": _copy_json(suite.asset_copy),
        "decode": _decode_json(suite.decode),
        "targets": targets(suite),
        "noisy_runs": noisy_runs(suite),
        "check": "PASS" if checks_passed(suite) else "FAIL",
    }


def _head_of_line_json(result: HeadOfLineResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "status": result.status,
        "detail": result.detail,
        "small_connections": SMALL_CONNECTIONS,
        "heavy_connections": HEAVY_CONNECTIONS,
        "heavy_body_bytes": HEAVY_BYTES,
        "p99_ms_alone": [round(run.p99_ms, 2) for run in result.alone],
        "p99_ms_beside_heavy": [round(run.p99_ms, 2) for run in result.beside_heavy],
        "ratio_of_medians": None if result.ratio is None else round(result.ratio, 2),
        "heavy_statuses": result.heavy_statuses,
    }


def _watch_json(result: WatchLoadResult | None) -> dict[str, Any] | None:
    if result is None:
        return None

    def rounded(value: float | None, digits: int = 1) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "status": result.status,
        "detail": result.detail,
        "tasks": result.tasks,
        "due_spread_s": watch_load.DUE_SPREAD_S,
        "budget_per_s": watch_load.RATE_PER_SECOND,
        "budget_burst": watch_load.BURST,
        "polls_by_second": result.polls_by_second,
        "polls_per_s": rounded(result.polls_per_s),
        "polls_over_budget": rounded(
            result.polls_per_s / watch_load.RATE_PER_SECOND if result.polls_per_s else None, 3
        ),
        "budget_respected": result.budget_respected,
        "callbacks": f"{watch_load.SMALL_CONNECTIONS} connections, each pausing {watch_load.PAUSE_MS} ms",
        "callback_p99_ms_alone": [round(run.p99_ms, 2) for run in result.alone],
        "callback_p99_ms_beside_watches": rounded(result.beside.p99_ms, 2) if result.beside else None,
        "callback_p99_ratio": rounded(result.p99_ratio, 2),
        "callback_rps_alone": [round(run.rps, 1) for run in result.alone],
        "callback_rps_beside_watches": rounded(result.beside.rps) if result.beside else None,
        "receiver_cpu_cores_alone": [round(cores, 2) for cores in result.cores_alone],
        "receiver_cpu_cores_beside_watches": rounded(result.cores_beside, 2),
        "receiver_rss_mb_before_watches": rounded(result.rss_before_mb),
        "receiver_rss_mb_after_watches": rounded(result.rss_after_mb),
        "receiver_rss_mb_peak_with_watches": rounded(result.rss_peak_mb),
        "enqueue_per_s": rounded(result.enqueue_per_s),
        "claim": [
            asdict(scale) | {"bytes_per_task": round(scale.bytes_per_task, 1)} for scale in result.claim
        ],
        "claim_median_growth": rounded(result.claim_growth, 2),
    }


def _copy_json(result: CopyResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "status": result.status,
        "detail": result.detail,
        "file_bytes": result.file_bytes,
        "what": "MB/s = 10^6 bytes/s; curl -s -o (curl's time_total) against Downloader + AssetStore "
        "(local directory) in a fresh process, alternately, median of the rounds",
        "curl_mb_s": [round(value, 1) for value in result.curl_mb_s],
        "copier_mb_s": [round(value, 1) for value in result.copier_mb_s],
        "copier_over_curl": None if result.ratio is None else round(result.ratio, 3),
        "sha256_ok": result.sha256_ok,
        "copier_rss_mb_before_copy": result.copier_rss_before_mb,
        "copier_peak_rss_mb": result.copier_peak_rss_mb,
    }


def _decode_json(decode: tuple[list[DecodeRow], SmallRow] | None) -> dict[str, Any] | None:
    if decode is None:
        return None
    rows, small = decode
    return {
        "what": "gate, validation, normalization, serialization; MB/s, best of the run; "
        "baseline: revision 3dc598d from git, the code path before issue 18",
        "rows": [asdict(row) | {"ratio": round(row.ratio, 2)} for row in rows],
        "small_delivery_us": asdict(small),
    }


def write_results(data: dict[str, Any]) -> None:
    RESULTS_PATH.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")


def noisy_runs(suite: SuiteResult) -> list[str]:
    """Servers whose measured run shared the CPUs with enough other work to skew it."""
    return [r.kind.value for r in suite.servers.values() if (r.other_cpu_cores or 0.0) > NOISE_WARN_CORES]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _check_text(check: StreamCheck | None) -> str:
    if check is None:
        return "n/a (stores nothing)"
    verdict = "PASS" if check.passed else "FAIL"
    return f"{verdict}: {check.entries:,} entries for {check.answered_2xx:,} 2xx, {check.duplicates} dup"


def _server_rows(suite: SuiteResult) -> list[str]:
    header = (
        f"{'server':<26}{'req/s':>9}{'rounds req/s':>22}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
        f"{'RSS MB':>9}{'noise':>7}  stream check"
    )
    rows = [header, "-" * len(header)]
    for result in suite.servers.values():
        m = result.measured
        if result.status != "ok" or m is None:
            reason = result.detail.splitlines()[0] if result.detail else ""
            rows.append(f"{result.label:<26}{result.status.upper():>9}  {reason}")
            continue
        check = _check_text(result.check)
        if result.cycled:
            check += " (set cycled)" if result.kind is Kind.CEILING else " (deliveries REPEATED)"
        errors = {
            name: total
            for name in m.socket_errors
            if (total := sum(run.socket_errors.get(name, 0) for run in result.rounds))
        }
        if errors:
            check += " (socket errors: " + ", ".join(f"{name} {n}" for name, n in errors.items()) + ")"
        spread = " ".join(f"{run.rps:,.0f}" for run in result.rounds)
        non_2xx = sum(run.non_2xx for run in result.rounds)
        rows.append(
            f"{result.label:<26}{m.rps:>9,.0f}{spread:>22}{m.p50_ms:>9.1f}{m.p99_ms:>9.1f}{non_2xx:>9,}"
            f"{_fmt(result.rss_peak_mb, '.1f'):>9}{_fmt(result.other_cpu_cores, '.2f'):>7}  {check}"
        )
    rows.append("req/s, p50, p99: the server's median round; rounds: each interleaved round in order")
    rows.append(
        "noise: most cores busy with processes outside the bench during one of its rounds (0 = quiet)"
    )
    noisy = noisy_runs(suite)
    if noisy:
        rows.append(f"WARNING: the machine was busy during {', '.join(noisy)}: figures and ratios are skewed")
    return rows


def _target_lines(suite: SuiteResult) -> list[str]:
    r = ratios(suite)
    t = targets(suite)

    def met(name: str) -> str:
        value = t[name]["met"]
        return "not measured" if value is None else ("met" if value else "NOT met")

    return [
        f"videohooks / ceiling = {_fmt(r['videohooks_over_ceiling'], '.2f')}"
        f"  (target >= {TARGETS['videohooks_over_ceiling_min']:g}: {met('videohooks_over_ceiling_min')})",
        f"videohooks / by hand = {_fmt(r['videohooks_over_byhand'], '.2f')}"
        f"  (target >= {TARGETS['videohooks_over_byhand_min']:g}: {met('videohooks_over_byhand_min')})",
        f"videohooks p99 <= {TARGETS['videohooks_p99_ms_max']:g} ms: {met('videohooks_p99_ms_max')};"
        f"  RSS <= {TARGETS['videohooks_rss_mb_max']:g} MB: {met('videohooks_rss_mb_max')}",
        f"replay --direct >= {TARGETS['replay_direct_events_per_s_min']:,.0f} events/s:"
        f" {met('replay_direct_events_per_s_min')}",
        f"head-of-line p99 ratio <= {TARGETS['head_of_line_p99_ratio_max']:g}:"
        f" {met('head_of_line_p99_ratio_max')};"
        f"  large body / floor <= {TARGETS['large_body_over_floor_max']:g} at every size:"
        f" {met('large_body_over_floor_max')}",
        f"  decode >= {TARGETS['decode_over_baseline_min']:g}x baseline at every size:"
        f" {met('decode_over_baseline_min')}",
        f"callback p99 beside watched tasks / alone <= {TARGETS['watch_callback_p99_ratio_max']:g}:"
        f" {met('watch_callback_p99_ratio_max')};"
        f"  claim at 100k / at 1k <= {TARGETS['watch_claim_growth_max']:g}: {met('watch_claim_growth_max')}",
    ]


def _replay_line(replay: ReplayResult | None) -> list[str]:
    if replay is None:
        return []
    run = replay.run
    if run is None:
        return [f"replay --direct: {replay.status.upper()} {replay.detail or ''}"]
    check = "" if replay.check is None else "; " + _check_text(replay.check).replace(" 2xx", " events")
    startup = f"{replay.startup.wall_s:.2f} s" if replay.startup else "-"
    lines = [
        f"replay --direct: {run.events:,} events in {run.wall_s:.2f} s = {run.events_per_s:,.0f} events/s"
        f" (one-event run: {startup}){check}"
    ]
    if replay.shares is not None:
        split = replay.shares
        parts = ", ".join(f"{name} {share:.0%}" for name, share in split.shares(run.events).items())
        lines.append(
            f"  CPU: {parts}; per event {split.load_us:.0f} us loading, {split.decode_us:.0f} us decode"
            f" (decode processes), {split.publish_us:.0f} us publish (event loop);"
            f" at most {split.bound_events_per_s(run.events):,.0f} events/s on 2 cores with this split"
        )
    return lines


def _latency_lines(suite: SuiteResult) -> list[str]:
    lines = []
    for result in suite.servers.values():
        lat = result.latency
        if lat is not None:
            lines.append(
                f"POST -> XREADGROUP, {lat.sent} sequential deliveries, {result.label}:"
                f" p50 {_fmt(lat.p50_ms, '.2f')} ms, p99 {_fmt(lat.p99_ms, '.2f')} ms"
                f" ({lat.received}/{lat.sent} read)"
            )
    return lines


def table(suite: SuiteResult) -> str:
    lines = [
        *_server_rows(suite),
        "",
        *_replay_line(suite.replay),
        *_latency_lines(suite),
        "",
        *([headofline.table(suite.head_of_line), ""] if suite.head_of_line else []),
        *([largebody.table(suite.large_body), ""] if suite.large_body else []),
        *([watch_load.table(suite.watch_load), ""] if suite.watch_load else []),
        *([asset_copy.table(suite.asset_copy), ""] if suite.asset_copy else []),
        *([decode_table(*suite.decode), ""] if suite.decode else []),
        *_target_lines(suite),
        "",
        f"check: {'PASS' if checks_passed(suite) else 'FAIL'}",
    ]
    return "\n".join(lines)
