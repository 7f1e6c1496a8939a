"""The hostile corpus (tests/http/corpus/hostile.json): its cases, the config they run against, and
each case as the request it describes, signed where it says so."""

from __future__ import annotations

import time
from typing import Any

import orjson

from receiver.config import Config, parse_config
from receiver.providers import verifier_for
from tests.support import ROOT, TOKEN
from tests.support.config import config_dict

CORPUS = orjson.loads((ROOT / "tests" / "http" / "corpus" / "hostile.json").read_bytes())["cases"]
OTHER_WHSEC = "whsec_" + "b3RoZXItc291cmNlLXNlY3JldC0wMTIzNDU2Nzg5"

# Tight limits, so that each limit can be crossed by a body far below max_body_bytes.
CORPUS_LIMITS = {"max_depth": 16, "max_items": 100, "max_string_bytes": 1024}


def corpus_config(prefix: str, redis_url: str) -> Config:
    data: dict[str, Any] = config_dict(prefix, redis_url)
    data["sources"] = [
        *data["sources"],
        {
            "id": "memories-signed-other",
            "provider": "memories",
            "verify": "standard-webhooks",
            "secrets": [OTHER_WHSEC],
        },
    ]
    data["limits"] = CORPUS_LIMITS
    return parse_config(data)


def case_body(case: dict[str, Any]) -> bytes:
    if "body_hex" in case:
        return bytes.fromhex(case["body_hex"])
    if "parts" in case:
        return b"".join(text.encode() * times for text, times in case["parts"])
    return str(case.get("body") or "").encode()


def fill(text: str, now: float) -> str:
    return (
        text.replace("{now}", str(int(now)))
        .replace("{token_prefix}", TOKEN[:-1])
        .replace("{token_upper}", TOKEN.upper())
        .replace("{token}", TOKEN)
    )


def build_request(case: dict[str, Any], config: Config) -> tuple[str, dict[str, str | bytes], bytes]:
    now = time.time()
    body = case_body(case)
    path = fill(case["path"], now)
    # As bytes: a hostile header value need not be ASCII.
    headers: dict[str, str | bytes] = {
        name: fill(value, now).encode() for name, value in case.get("headers", {}).items()
    }
    if "sign" in case:
        source = config.source(case["sign"])
        assert source is not None
        signed_over = case["sign_body"].encode() if "sign_body" in case else body
        signed_at = now + case.get("sign_offset", 0)
        signed = verifier_for(source).sign(signed_over, signed_at, f"msg-{case['name']}")
        headers.update(signed.headers)
        path += signed.path_suffix
    return path, headers, body
