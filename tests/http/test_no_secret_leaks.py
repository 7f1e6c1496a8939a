"""No secret or token in anything the receiver writes: logs, metrics, answers, Redis.

A real `videohooks serve` process gets fresh secrets through `env:` references, takes good and bad
traffic (some of it carrying the secrets in credential and signature headers), and then everything it
wrote is searched for every secret, including the base64 key inside the `whsec_` secret.
"""

from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import httpx
import redis

from receiver.verifiers.standard_webhooks import StandardWebhooks
from receiver.verifiers.twelvelabs import TwelveLabsSignature
from tests.support import live_receiver, read_stream, redis_bytes, write_config
from tests.support.deliveries import memories_body


def merged(*parts: dict[str, str]) -> dict[str, str]:
    """Header sets merged, later ones winning, names compared case-insensitively as HTTP does."""
    return {name.lower(): value for part in parts for name, value in part.items()}


def redis_dump(client: redis.Redis, prefix: str) -> list[bytes]:
    """Every key name and every value (stream fields, hash fields, members, strings) under `prefix`."""
    found: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*"):
        found.append(redis_bytes(key))
        kind = client.type(key)
        if kind == b"stream":
            found.extend(
                part for _, fields in read_stream(client, key) for item in fields.items() for part in item
            )
        elif kind == b"hash":
            found.extend(redis_bytes(part) for item in client.hgetall(key).items() for part in item)
        elif kind == b"string":
            found.append(redis_bytes(client.get(key)))
        elif kind == b"list":
            found.extend(map(redis_bytes, client.lrange(key, 0, -1)))
        elif kind == b"set":
            found.extend(map(redis_bytes, client.smembers(key)))
        elif kind == b"zset":
            found.extend(map(redis_bytes, client.zrange(key, 0, -1)))
    return found


def test_no_secret_reaches_logs_metrics_answers_or_redis(
    tmp_path: Path, prefix: str, redis_url: str, rclient: redis.Redis
) -> None:
    key = secrets.token_bytes(24)
    whsec = "whsec_" + base64.b64encode(key).decode()
    token = secrets.token_urlsafe(24)
    tl_secret = "tl_" + secrets.token_hex(16)
    admin = "adm_" + secrets.token_hex(16)
    api_key = "sk-" + secrets.token_hex(16)
    env = {"VH_TOKEN": token, "VH_WHSEC": whsec, "VH_TL": tl_secret, "VH_ADMIN": admin, "VH_API_KEY": api_key}
    config = write_config(
        tmp_path / "videohooks.toml",
        f"""
redis = {{url = "{redis_url}", prefix = "{prefix}"}}
sources = [
    {{id = "tok", provider = "memories", secrets = ["env:VH_TOKEN"], api_key = "env:VH_API_KEY"}},
    {{id = "sw", provider = "memories", verify = "standard-webhooks", secrets = ["env:VH_WHSEC"]}},
    {{id = "tl", provider = "memories", verify = "twelvelabs", secrets = ["env:VH_TL"]}},
]

[server]
max_body_bytes = 65536

[admin]
token = "env:VH_ADMIN"
""",
    )
    carrying = {
        "authorization": f"Bearer {admin}",
        "x-api-key": api_key,
        "webhook-signature": f"v1,{whsec}",
        "tl-signature": f"t=1,v1={tl_secret}",
        "cookie": f"session={token}",
    }
    whsec_signer = StandardWebhooks([whsec], 300)
    tl_signer = TwelveLabsSignature([tl_secret], 300)
    answers: list[httpx.Response] = []
    with live_receiver(config, env) as receiver, httpx.Client(base_url=receiver.url, timeout=10) as http:
        good, good_signed, good_tl = (memories_body(f"leak-{n}") for n in range(3))
        bad = b'{"code": 200, "message": "no task id"}'
        signed_bad = whsec_signer.sign(bad, time.time(), "msg_leak_bad").headers
        requests: list[tuple[str, str, bytes, dict[str, str]]] = [
            ("POST", f"/v1/callbacks/tok/{token}", good, {}),
            ("POST", f"/v1/callbacks/tok/{token}", bad, carrying),
            ("POST", f"/v1/callbacks/tok/{token}x", good, carrying),
            ("POST", f"/v1/callbacks/tok/{token[:-2]}", good, {}),
            ("GET", f"/v1/callbacks/tok/{token}", b"", {}),
            ("POST", f"/v1/callbacks/tok/{token}", b"{" * 70000, {}),
            (
                "POST",
                "/v1/callbacks/sw",
                good_signed,
                whsec_signer.sign(good_signed, time.time()).headers,
            ),
            ("POST", "/v1/callbacks/sw", bad, merged(carrying, signed_bad)),
            ("POST", "/v1/callbacks/sw", good, carrying),
            ("POST", "/v1/callbacks/tl", good_tl, tl_signer.sign(good_tl, time.time()).headers),
            (
                "POST",
                "/v1/callbacks/tl",
                bad,
                merged(carrying, tl_signer.sign(bad, time.time()).headers),
            ),
            ("POST", "/v1/callbacks/tl", good, carrying),
            ("POST", f"/v1/callbacks/no-such-source/{token}", good, carrying),
            ("GET", "/v1/sources", b"", {"authorization": f"Bearer {admin}"}),
            ("GET", "/v1/sources", b"", {"authorization": f"Bearer {admin}x"}),
            ("GET", "/readyz", b"", {}),
            ("GET", "/openapi.json", b"", {}),
        ]
        for method, path, body, headers in requests:
            answers.append(http.request(method, path, content=body, headers=headers))
        metrics_text = http.get("/metrics").text

    statuses = [answer.status_code for answer in answers]
    assert statuses[:4] == [202, 202, 401, 401]
    assert [answer.json().get("status") for answer in answers if answer.status_code == 202] == [
        "accepted",
        "quarantined",
        "accepted",
        "quarantined",
        "accepted",
        "quarantined",
    ]
    assert 500 not in statuses

    stored = redis_dump(rclient, prefix)
    assert any(b"no task id" in value for value in stored)  # the quarantined bodies are there
    written = {
        "logs": receiver.log().encode(),
        "metrics": metrics_text.encode(),
        "answers": b"\n".join(answer.content + str(answer.headers).encode() for answer in answers),
        "redis": b"\n".join(stored),
    }
    needles = [token, whsec, whsec.removeprefix("whsec_"), tl_secret, admin, api_key]
    leaks = [
        (where, needle[:6])
        for where, text in written.items()
        for needle in [*(value.encode() for value in needles), key]
        if needle in text
    ]
    assert leaks == []
