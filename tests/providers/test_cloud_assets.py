"""Assets in the caller's cloud storage, copied with the source's own credentials: a Bedrock `s3://`
video from a real S3 API (moto server), read with the bedrock source's keys; a Vertex `gs://` video
from a fake Cloud Storage on pytest-httpserver (the object GET obstore's GCSStore sends,
`GET {base}/{bucket}/{object}` with the source's OAuth2 token from google-auth's real exchange); and
`output_uri` keeping reads inside the source's own output location."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
import redis
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from receiver.assets.cloud import within
from receiver.config import Config, parse_config
from tests.support import FIXTURES, stream_events
from tests.support.api import api_base, receiver_parts
from tests.support.config import config_dict
from tests.support.google_fake import TokenEndpoint, write_service_account
from tests.support.s3server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server
from tests.support.sigv4 import sigv4_checked

MEDIA = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 64
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/k4q8w2zr7tm1"
OPERATION = (
    "projects/vh-prod/locations/us-central1/publishers/google/models/veo-3.1-generate-001"
    "/operations/a1b07c8e-7b5a-4aba-bb34-3e1ccb8afcc8"
)
FETCH = re.compile(r"/v1/.*:fetchPredictOperation")
GCS_OBJECT = "/vh-veo-out/veo/17951760/sample_0.mp4"


def body(provider: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((FIXTURES / provider / f"{name}.json").read_bytes())["body"]
    return document


def config_of(prefix: str, redis_url: str, source: dict[str, Any], assets: dict[str, Any]) -> Config:
    data: dict[str, Any] = config_dict(prefix, redis_url)
    data["sources"] = [{"poll_interval_seconds": 0.05, **source}]
    data["assets"] = assets
    return parse_config(data)


async def watched(config: Config, redis_url: str, source_id: str, task_id: str) -> None:
    async with receiver_parts(config, redis_url) as parts:
        assert await parts.watch(source_id, task_id)
        await parts.run_until_idle(timeout=15)


@pytest.fixture
def output_bucket(s3_server: S3Server) -> str:
    """The caller's bucket Bedrock wrote the video into, the video in its invocation's folder."""
    name = f"reel-out-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    put = httpx.put(f"{s3_server.endpoint}/{name}/videos/k4q8w2zr7tm1/output.mp4", content=MEDIA, timeout=10)
    assert put.status_code == 200
    return name


@pytest.fixture
def assets_bucket(s3_server: S3Server) -> str:
    name = f"assets-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    return name


def bedrock_answer(httpserver: HTTPServer, bucket: str) -> None:
    completed = body("bedrock", "completed")
    completed["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] = f"s3://{bucket}/videos/k4q8w2zr7tm1"
    httpserver.expect_request(f"/async-invoke/{ARN}").respond_with_handler(
        sigv4_checked(orjson.dumps(completed), Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), REGION)
    )


def bedrock_source(httpserver: HTTPServer, s3_server: S3Server, **settings: Any) -> dict[str, Any]:
    return {
        "id": "reel",
        "provider": "bedrock",
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "api_base_url": api_base(httpserver),
        "s3_endpoint": s3_server.endpoint,
        **settings,
    }


async def test_an_s3_video_lands_in_the_store_read_with_the_sources_keys(
    httpserver: HTTPServer,
    s3_server: S3Server,
    output_bucket: str,
    assets_bucket: str,
    redis_url: str,
    prefix: str,
    rclient: redis.Redis,
) -> None:
    bedrock_answer(httpserver, output_bucket)
    assets = {
        "store": f"s3://{assets_bucket}/copies",
        "s3_endpoint": s3_server.endpoint,
        "s3_region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
    }
    source = bedrock_source(httpserver, s3_server, output_uri=f"s3://{output_bucket}/videos/")
    await watched(config_of(prefix, redis_url, source, assets), redis_url, "reel", ARN)
    [event] = stream_events(rclient, f"{prefix}:events")
    [asset] = event["assets"]
    assert asset["source_url"] == f"s3://{output_bucket}/videos/k4q8w2zr7tm1/output.mp4"
    assert asset["url"].startswith(f"s3://{assets_bucket}/copies/reel/")
    assert (asset["bytes"], asset["sha256"]) == (len(MEDIA), hashlib.sha256(MEDIA).hexdigest())
    key = asset["url"].removeprefix(f"s3://{assets_bucket}/")  # the ARN's `:` and `/` escaped in it
    assert s3_server.get(assets_bucket, quote(key)).content == MEDIA
    assert "asset_errors" not in event["extensions"]


async def test_a_video_not_named_output_mp4_is_found_in_the_invocations_folder(
    httpserver: HTTPServer,
    s3_server: S3Server,
    redis_url: str,
    prefix: str,
    rclient: redis.Redis,
    tmp_path: Path,
) -> None:
    """Luma Ray on Bedrock does not document its file name: the folder's `.mp4` is the video."""
    bucket = f"ray-out-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)
    for name, content in (("manifest.json", b"{}"), ("a1b2c3.mp4", MEDIA)):
        put = httpx.put(
            f"{s3_server.endpoint}/{bucket}/videos/k4q8w2zr7tm1/{name}", content=content, timeout=10
        )
        assert put.status_code == 200
    bedrock_answer(httpserver, bucket)
    source = bedrock_source(httpserver, s3_server)
    await watched(config_of(prefix, redis_url, source, {"store": str(tmp_path)}), redis_url, "reel", ARN)
    [event] = stream_events(rclient, f"{prefix}:events")
    [asset] = event["assets"]
    assert asset["source_url"] == f"s3://{bucket}/videos/k4q8w2zr7tm1/output.mp4"
    assert (asset["bytes"], asset["sha256"]) == (len(MEDIA), hashlib.sha256(MEDIA).hexdigest())


async def test_an_s3_video_outside_the_output_uri_is_not_read(
    httpserver: HTTPServer,
    s3_server: S3Server,
    output_bucket: str,
    redis_url: str,
    prefix: str,
    rclient: redis.Redis,
    tmp_path: Path,
) -> None:
    bedrock_answer(httpserver, output_bucket)
    source = bedrock_source(httpserver, s3_server, output_uri=f"s3://{output_bucket}/other-videos")
    await watched(config_of(prefix, redis_url, source, {"store": str(tmp_path)}), redis_url, "reel", ARN)
    [event] = stream_events(rclient, f"{prefix}:events")
    [asset] = event["assets"]
    assert asset["url"] == f"s3://{output_bucket}/videos/k4q8w2zr7tm1/output.mp4", "the URL is kept"
    [error] = event["extensions"]["asset_errors"]
    assert (error["index"], error["code"]) == (0, "asset_forbidden_location")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing_first", [False, True], ids=["there", "not-yet-written"])
async def test_a_gs_video_lands_in_the_store_read_with_the_sources_google_token(
    missing_first: bool,
    httpserver: HTTPServer,
    redis_url: str,
    prefix: str,
    rclient: redis.Redis,
    tmp_path: Path,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = TokenEndpoint(key.public_key())
    httpserver.expect_request("/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request(FETCH, method="POST").respond_with_json(body("vertex", "succeeded-gcs"))
    reads: list[str] = []

    def cloud_storage(request: Request) -> Response:
        reads.append(request.path)
        if request.headers.get("authorization") != f"Bearer {tokens.issued[-1]}":
            return Response(b'{"error": {"code": 401}}', status=401, content_type="application/json")
        if missing_first and len(reads) == 1:  # an object not written yet: asked again later
            return Response(b'{"error": {"code": 404}}', status=404, content_type="application/json")
        headers = {"etag": '"1"', "last-modified": "Fri, 20 Nov 2026 11:59:31 GMT"}
        return Response(MEDIA, content_type="video/mp4", headers=headers)

    httpserver.expect_request(GCS_OBJECT, method="GET").respond_with_handler(cloud_storage)
    source = {
        "id": "veo",
        "provider": "vertex",
        "project": "vh-prod",
        "location": "us-central1",
        "credentials_file": str(
            write_service_account(tmp_path / "sa.json", key, httpserver.url_for("/token"))
        ),
        "api_base_url": api_base(httpserver),
        "storage_base_url": api_base(httpserver),
        "output_uri": "gs://vh-veo-out/veo/",
    }
    store = tmp_path / "assets"
    await watched(config_of(prefix, redis_url, source, {"store": str(store)}), redis_url, "veo", OPERATION)
    [event] = stream_events(rclient, f"{prefix}:events")
    [asset] = event["assets"]
    assert asset["source_url"] == "gs://vh-veo-out/veo/17951760/sample_0.mp4"
    assert asset["url"].startswith(f"file://{store.resolve()}/veo/")
    assert (asset["bytes"], asset["sha256"], asset["content_type"]) == (
        len(MEDIA),
        hashlib.sha256(MEDIA).hexdigest(),
        "video/mp4",
    )
    assert Path(asset["url"].removeprefix("file://")).read_bytes() == MEDIA
    assert reads == [GCS_OBJECT] * (2 if missing_first else 1)
    assert "asset_errors" not in event["extensions"]


@pytest.mark.parametrize(
    ("url", "output_uri", "inside"),
    [
        ("gs://b/veo/x.mp4", "gs://b/veo/", True),
        ("gs://b/veo/x.mp4", "gs://b/veo", True),
        ("gs://b/veo-other/x.mp4", "gs://b/veo", False),
        ("gs://b/x.mp4", "gs://b", True),
        ("gs://bb/x.mp4", "gs://b", False),
        ("s3://b/videos/k/output.mp4", "s3://b/videos/", True),
    ],
)
def test_within_the_output_uri(url: str, output_uri: str, inside: bool) -> None:
    assert within(url, output_uri) is inside
