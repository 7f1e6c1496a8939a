"""`videohooks doctor`: the checks an operator on call runs first, each ok, warn or fail with a reason.

A `fail` is something that loses or refuses deliveries now (Redis unreachable or read-only, a clock so
far off that signed timestamps are refused); a `warn` is something to look at that does not (an
embedded Redis, dead letters waiting, a stream nobody reads yet). The checks only read, except for one
probe key that is written and deleted again to prove Redis takes writes.
"""

from __future__ import annotations

import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal

from receiver.assets.store import AssetStore
from receiver.config import Config
from receiver.foundation.asset_settings import AssetsConfig
from receiver.foundation.errors import RedisUnavailable
from receiver.foundation.keys import AnyRedis, KeySpace, as_text
from receiver.providers.unproven_sources import unproven_sources
from receiver.services.retention import group_lag
from receiver.wiring.connection import EmbeddedRedis, open_pipeline

Level = Literal["ok", "warn", "fail"]

# Beyond this the two clocks disagree enough to confuse anyone reading stream ids next to log times.
SKEW_WARN_SECONDS = 1.0
PROBE_TTL_MS = 10_000


@dataclass(frozen=True, slots=True)
class Check:
    level: Level
    name: str
    detail: str


def redis_location(config: Config, redis_url: str | None) -> Check:
    """Which Redis the receiver uses; the embedded one is for a first run on one host, not for production."""
    if config.redis.embedded_unless(redis_url):
        return Check(
            "warn",
            "redis",
            f"embedded Redis under {config.server.data_dir}/: one process on one host;"
            " set [redis] url in production",
        )
    url = redis_url or config.redis.url
    if url is None:
        sentinels = ", ".join(config.redis.sentinel)
        return Check("ok", "redis", f"sentinel master {config.redis.sentinel_service!r} via {sentinels}")
    scheme, _, rest = url.partition("://")
    host = rest.rpartition("@")[2]  # the part before '@' holds the password, if any
    kind = "cluster" if config.redis.cluster else "server"
    return Check("ok", "redis", f"configured {kind} {scheme}://{host}")


def embedded_url(embedded: EmbeddedRedis) -> Check:
    """Where a consumer reaches the embedded Redis: the socket of the running receiver's, or of one
    started for these checks alone when no receiver runs."""
    if embedded.started_here:
        return Check(
            "warn",
            "redis url",
            f"{embedded.url} is gone after these checks: no receiver runs on {embedded.data_dir}/"
            " (`videohooks serve` logs the URL of its own)",
        )
    return Check("ok", "redis url", f"{embedded.url}: the embedded Redis of the running receiver")


def demo_token(config: Config) -> list[Check]:
    if not config.admin.is_demo:
        return []
    return [Check("warn", "admin token", "the example configuration's public demo token: set your own")]


def unproven_bodies(config: Config) -> list[Check]:
    """A warning per source that publishes unsigned callbacks as sent, though its provider's API could
    confirm them (receiver/providers/unproven_sources.py)."""
    return [
        Check("warn", f"source {found.source}", found.detail) for found in unproven_sources(config.sources)
    ]


def clock_skew(host_before: float, host_after: float, redis_now: float, tolerance_seconds: int) -> Check:
    """Redis `TIME` against this host's clock, taken at the midpoint of the round trip that read it."""
    skew = redis_now - (host_before + host_after) / 2
    detail = f"Redis clock is {skew:+.3f} s from this host's"
    if abs(skew) > tolerance_seconds:
        return Check("fail", "clock", f"{detail}: beyond the signature tolerance of {tolerance_seconds} s")
    if abs(skew) > SKEW_WARN_SECONDS:
        return Check("warn", "clock", f"{detail}: more than {SKEW_WARN_SECONDS:g} s; is NTP running?")
    return Check("ok", "clock", detail)


async def _writable(redis: AnyRedis, keys: KeySpace) -> Check:
    probe = f"{keys.prefix}:doctor:{uuid.uuid4().hex}"
    # The TTL removes the probe even if this process dies between the two commands.
    await redis.set(probe, b"1", px=PROBE_TTL_MS)
    await redis.delete(probe)
    return Check("ok", "redis write", "wrote and deleted a probe key")


async def _clock(redis: AnyRedis, config: Config) -> Check:
    before = time.time()
    seconds, microseconds = await redis.time()
    after = time.time()
    tolerance = min((source.tolerance_seconds for source in config.sources), default=300)
    return clock_skew(before, after, seconds + microseconds / 1e6, tolerance)


async def _group_line(redis: AnyRedis, key: str, group: dict[str, Any]) -> str:
    name = as_text(group["name"])
    lag = await group_lag(redis, key, group, as_text(group["last-delivered-id"]))
    return (
        f"group {name}: {group['consumers']} consumer(s), {group['pending']} pending,"
        f" lag {'unknown' if lag is None else lag}"
    )


async def _stream(redis: AnyRedis, key: str, dead_letters: bool) -> Check:
    length = await redis.xlen(key)
    groups: list[dict[str, Any]] = await redis.xinfo_groups(key) if await redis.exists(key) else []
    lines = [await _group_line(redis, key, group) for group in groups]
    summary = "; ".join([f"{length} entries", *lines])
    if dead_letters and length:
        return Check("warn", key, f"{summary}: dead letters wait for a look and a redrive")
    if not dead_letters and length and not groups:
        return Check("warn", key, f"{summary}: no consumer group reads it yet")
    return Check("ok", key, summary)


async def _streams(redis: AnyRedis, keys: KeySpace) -> list[Check]:
    checks = [await _stream(redis, key, dead_letters=False) for key in keys.all_events()]
    return checks + [await _stream(redis, key, dead_letters=True) for key in keys.all_dlq()]


async def store_check(assets: AssetsConfig | None) -> Check:
    """A store that takes no writes means no event with assets is ever published (each waits for its
    copy until the deadline): it fails the check."""
    if assets is None:
        return Check("ok", "asset store", "none configured: assets are published with the provider's URLs")
    try:
        detail = await AssetStore(assets).check_writable()
    except Exception as exc:  # whatever the store library raised is what the operator needs to read
        return Check("fail", "asset store", f"{assets.store}: {exc.__class__.__name__}: {exc}")
    return Check("ok", "asset store", detail)


async def diagnose(config: Config, redis_url: str | None = None) -> list[Check]:
    """Every check, in the order an operator reads them; stops at the first Redis error, named by step."""
    checks = [
        Check("ok", "config", f"{len(config.sources)} source(s)"),
        redis_location(config, redis_url),
        *unproven_bodies(config),
        *demo_token(config),
    ]
    keys = KeySpace(config.redis.prefix, config.redis.partitions, config.redis.cluster)
    step = "redis reachable"
    try:
        async with AsyncExitStack() as stack:
            if config.redis.embedded_unless(redis_url):
                embedded = stack.enter_context(EmbeddedRedis(config.server.data_dir))
                checks.append(embedded_url(embedded))
                redis_url = embedded.url
            redis, _ = await stack.enter_async_context(open_pipeline(config, redis_url))
            await redis.ping()
            checks.append(Check("ok", step, "PING answered"))
            step = "redis write"
            checks.append(await _writable(redis, keys))
            step = "clock"
            checks.append(await _clock(redis, config))
            step = "streams"
            checks += await _streams(redis, keys)
    except RedisUnavailable as exc:
        cause = exc.__cause__ or exc  # the client's own words, for the operator
        checks.append(Check("fail", step, f"{cause.__class__.__name__}: {cause}"))
        return checks
    checks.append(await store_check(config.assets))
    return checks
