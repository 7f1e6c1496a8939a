"""The suite's configuration: one source per verification scheme the tests exercise, and API sources."""

from __future__ import annotations

from typing import Any

from receiver.config import Config, parse_config
from tests.support import (
    ADMIN_TOKEN,
    API_KEY,
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    GEMINI_WHSEC,
    KLING_ACCESS_KEY,
    KLING_SECRET_KEY,
    PIXVERSE_SECRET,
    REPLICATE_WHSEC,
    TL_SECRET,
    TOKEN,
    VIDU_KEY,
    WHSEC,
)


def config_dict(prefix: str, redis_url: str | None = None, api_base_url: str | None = None) -> dict[str, Any]:
    """The test configuration: one source per verification scheme the tests exercise, and API sources.

    `api_base_url` (the `httpserver` playing the providers' APIs) is the base of every API source;
    without it they name an address that is never called (a poll-only source cannot be configured
    without one).
    """
    api = {"api_base_url": api_base_url or "https://api.provider.invalid"}
    return {
        "redis": {"url": redis_url, "prefix": prefix} if redis_url else {"prefix": prefix},
        "sources": [
            {
                "id": "memories-main",
                "provider": "memories",
                "verify": "url-token",
                "secrets": [TOKEN, "old-token"],
            },
            {
                "id": "memories-signed",
                "provider": "memories",
                "verify": "standard-webhooks",
                "secrets": [WHSEC],
            },
            {"id": "memories-tl", "provider": "memories", "verify": "twelvelabs", "secrets": [TL_SECRET]},
            {"id": "memories-open", "provider": "memories", "verify": "none"},
            # No api_key: the thin TwelveLabs event is published at once, without a fetch.
            {
                "id": "twelvelabs-main",
                "provider": "twelvelabs",
                "verify": "twelvelabs",
                "secrets": [TL_SECRET],
            },
            {
                "id": "openai-main",
                "provider": "openai",
                "secrets": [WHSEC],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "openai-thin", "provider": "openai", "secrets": [WHSEC]},
            {
                "id": "veo-relay",
                "provider": "openai-compatible",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            {
                "id": "bailian-main",
                "provider": "bailian",
                "workspace_id": "llm-test",
                "access_key_id": "test-access-key-id",
                "access_key_secret": "test-access-key-secret",
                "poll_interval_seconds": 0.05,
                **api,
            },
            # --- minimax, runway, dashscope ---
            # A MiniMax callback is a notification: with api_key the task is fetched (minimax-main);
            # without it the body is decoded as sent (minimax-open).
            {
                "id": "minimax-main",
                "provider": "minimax",
                "secrets": [TOKEN],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "minimax-open", "provider": "minimax", "secrets": [TOKEN]},
            {
                "id": "runway-main",
                "provider": "runway",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            {
                "id": "dashscope-main",
                "provider": "dashscope",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # --- end minimax, runway, dashscope ---
            # gemini and replicate (Standard Webhooks): gemini-main fetches after its thin webhooks,
            # gemini-thin (no api_key) publishes them as sent; replicate-main's bodies are the result.
            {
                "id": "gemini-main",
                "provider": "gemini",
                "secrets": [GEMINI_WHSEC],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "gemini-thin", "provider": "gemini", "secrets": [GEMINI_WHSEC]},
            {
                "id": "replicate-main",
                "provider": "replicate",
                "secrets": [REPLICATE_WHSEC],
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # fal: only fal holds the key its webhooks are signed with, so its fixtures cannot be signed
            # again: this source verifies nothing (tests/providers/test_fal.py verifies real signatures
            # against a served key set).
            {"id": "fal-main", "provider": "fal", "verify": "none"},
            # openrouter: the signing secret of its test vector (tests/providers/test_openrouter.py).
            {
                "id": "openrouter-main",
                "provider": "openrouter",
                "secrets": ["openrouter-test-signing-secret"],
            },
            # Unsigned callbacks (luma, kling, ark): `-main` decodes the body as sent (no credentials),
            # `-api` takes it as a notification and publishes what the API says.
            {"id": "luma-main", "provider": "luma", "secrets": [TOKEN]},
            {
                "id": "luma-api",
                "provider": "luma",
                "secrets": [TOKEN],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "kling-main", "provider": "kling", "secrets": [TOKEN]},
            {
                "id": "kling-api",
                "provider": "kling",
                "secrets": [TOKEN],
                "access_key": KLING_ACCESS_KEY,
                "secret_key": KLING_SECRET_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            {"id": "ark-main", "provider": "ark", "secrets": [TOKEN]},
            {
                "id": "ark-api",
                "provider": "ark",
                "secrets": [TOKEN],
                "api_key": API_KEY,
                "fetch_retry_seconds": 0.05,
                **api,
            },
            # --- pixverse, vidu ---
            # pixverse-main verifies with its test vector's webhook secret and polls with api_key; vidu-main's
            # API key signs its callbacks and fetches what each notifies.
            {
                "id": "pixverse-main",
                "provider": "pixverse",
                "secrets": [PIXVERSE_SECRET],
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            {
                "id": "vidu-main",
                "provider": "vidu",
                "api_key": VIDU_KEY,
                "fetch_retry_seconds": 0.05,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # --- end pixverse, vidu ---
            # --- xai, vertex, bedrock (poll only) ---
            {
                "id": "xai-main",
                "provider": "xai",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # Express mode (an API key): tests/providers/test_vertex.py exercises the OAuth2 token exchange.
            {
                "id": "vertex-main",
                "provider": "vertex",
                "project": "vh-prod",
                "location": "us-central1",
                "api_key": API_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            {
                "id": "bedrock-main",
                "provider": "bedrock",
                "region": "us-east-1",
                "access_key_id": AWS_ACCESS_KEY_ID,
                "secret_access_key": AWS_SECRET_ACCESS_KEY,
                "poll_interval_seconds": 0.05,
                **api,
            },
            # --- end xai, vertex, bedrock ---
        ],
        "server": {"max_body_bytes": 65536},
        "admin": {"token": ADMIN_TOKEN},
    }


def config_with(prefix: str, redis_url: str, api_base: str, **sections: Any) -> Config:
    """The test configuration with its API sources on `api_base` and `sections` ([assets], ...) added."""
    data = config_dict(prefix, redis_url, api_base)
    data.update(sections)
    return parse_config(data)
