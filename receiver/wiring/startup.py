"""What a first run must be told when the receiver starts: where its embedded Redis can be reached, and
that the example configuration's admin token is public.

The embedded Redis listens on a unix socket in a temporary directory, so a consumer can only find it
if the receiver says where; `videohooks doctor` prints the same URL.
"""

from __future__ import annotations

from redis.asyncio import Redis

from receiver.config import Config
from receiver.foundation.keys import AnyRedis
from receiver.foundation.logs import logger


def socket_url(redis: AnyRedis) -> str | None:
    """The `unix://` URL of a client on a unix socket (the embedded Redis), which redis-py's `from_url`
    and `[redis] url` take (redis-cli: `-s` and the path); None on TCP."""
    if not isinstance(redis, Redis):
        return None
    path = redis.connection_pool.connection_kwargs.get("path")
    return f"unix://{path}" if path else None


def announce(config: Config, redis: AnyRedis, *, embedded: bool) -> None:
    """Log the start-up notes: the embedded Redis's URL, and a warning for the demo admin token."""
    url = socket_url(redis) if embedded else None
    if url is not None:
        logger.info("redis.embedded", url=url, detail="consumers connect here while this receiver runs")
    if config.admin.is_demo:
        logger.warning(
            "admin.demo_token",
            detail="[admin] token is the example configuration's public demo token: anyone can sign in"
            " to the console. Copy videohooks.example.toml to videohooks.toml and set a token of your own.",
        )
