"""MiniMax Hailuo video generation: unsigned callbacks behind a URL token, a challenge first.

MiniMax checks a callback URL by POSTing `{"challenge": "<s>"}` and expects the same body back with
200 within 3 s; then it POSTs the task on every status change, unsigned. The callback only names the
task and its `file_id`: with an `api_key` the task is fetched (and its file resolved) and what the API
says is published.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import orjson

from receiver.providers.base import Provider
from receiver.providers.minimax.client import MinimaxClient
from receiver.sources import SourceConfig
from schemas.minimax import SCHEMAS


class MinimaxSource(SourceConfig):
    DEFAULT_VERIFY: ClassVar[str] = "url-token"
    provider: Literal["minimax"]
    # The international endpoint; mainland China accounts use https://api.minimaxi.com.
    api_base_url: str | None = "https://api.minimax.io"


def challenge_answer(body: bytes) -> bytes | None:
    """`{"challenge": "<s>"}` exactly (one key, a string) is MiniMax checking the URL: the same back.

    Anything else, extra keys included, is an ordinary callback.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.keys() != {"challenge"}:
        return None
    challenge = document["challenge"]
    if not isinstance(challenge, str):
        return None
    return orjson.dumps({"challenge": challenge})


PROVIDER = Provider(
    settings=MinimaxSource,
    schemas=SCHEMAS,
    callbacks="thin",
    client=MinimaxClient,
    # MiniMax limits by requests per minute and publishes no figure for the query and file routes (its
    # table gives video generation 5 RPM free, 20 paid): one request a second, 60 a minute, until an
    # operator who knows the account's limit sets `api_rate_limit_per_second`.
    api_rate_limit_per_second=1.0,
    handshake=challenge_answer,
)
