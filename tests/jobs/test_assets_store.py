"""The asset store and its configuration: keys, URLs, validation, inline media, on a directory and S3."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from receiver.assets.download import AssetError
from receiver.assets.inline import SLICE_CHARS, store_inline
from receiver.assets.store import AssetStore, asset_key, extension
from receiver.foundation.asset_settings import GIB, AssetsConfig
from receiver.services.doctor import store_check
from tests.support.s3server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server


def s3_config(server: S3Server, bucket: str, prefix: str = "videohooks") -> AssetsConfig:
    return AssetsConfig(
        store=f"s3://{bucket}/{prefix}",
        s3_endpoint=server.endpoint,
        s3_region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    name = f"assets-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    return name


def test_the_defaults_are_the_contracts() -> None:
    config = AssetsConfig(store="var/assets")
    assert (config.max_bytes, config.deadline_seconds, config.allow_private_networks) == (
        2 * GIB,
        3600,
        False,
    )
    assert (config.kind, config.prefix) == ("local", "")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"store": ""}, "must not be empty"),
        ({"store": "gs://bucket/x"}, "gs:// is not a store"),
        ({"store": "file://relative/path"}, "needs an absolute path"),
        ({"store": "s3:///prefix"}, "names its bucket"),
        ({"store": "var/assets", "s3_region": "eu-west-1"}, "apply to an s3:// store only"),
        ({"store": "s3://b", "access_key_id": "k"}, "together, or neither"),
        ({"store": "s3://b", "s3_endpoint": "127.0.0.1:9000"}, "http:// or https://"),
        ({"store": "s3://b", "bucket": "b"}, "Extra inputs are not permitted"),
        ({"store": "s3://b", "max_bytes": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_settings_are_refused_with_a_message_that_says_why(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        AssetsConfig.model_validate(settings)


def test_secrets_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ASSETS_SECRET", "from-env")
    config = AssetsConfig(store="s3://b", access_key_id="key", secret_access_key="env:TEST_ASSETS_SECRET")
    assert config.secret_access_key is not None
    assert config.secret_access_key.get_secret_value() == "from-env"
    assert "from-env" not in repr(config)


def test_s3_prefix_and_bucket_come_from_the_url() -> None:
    config = AssetsConfig(store="s3://media/videohooks//copies/")
    assert (config.kind, config.bucket, config.prefix) == ("s3", "media", "videohooks/copies")


@pytest.mark.parametrize(
    ("content_type", "url", "expected"),
    [
        ("video/mp4", "https://cdn.test/x.bin", ".mp4"),
        ("image/jpeg; charset=binary", None, ".jpg"),
        ("application/octet-stream", "https://cdn.test/a/b/clip.WEBM?sig=1", ".webm"),
        (None, "https://api.test/v1/videos/video_1/content", ""),
        (None, "https://cdn.test/file.tar.gz", ".gz"),
        (None, "https://cdn.test/file.not-an-extension", ""),
    ],
)
def test_the_extension_comes_from_the_type_else_the_url(
    content_type: str | None, url: str | None, expected: str
) -> None:
    assert extension(content_type, url) == expected


def test_keys_are_deterministic_and_cannot_leave_their_folder() -> None:
    key = asset_key("videohooks", "openai-main", "video_1", 0, "video", "video/mp4", None)
    assert key == "videohooks/openai-main/video_1/0-video.mp4"
    assert asset_key("", "s", "t", 2, "thumbnail", None, None) == "s/t/2-thumbnail"
    hostile = asset_key("", "s", "../../etc", 0, "video/../x", None, None)
    assert hostile == "s/..%2F..%2Fetc/0-video%2F..%2Fx"
    assert asset_key("", "s", "..", 0, "video", None, None) == "s/%2E%2E/0-video"


async def test_a_directory_store_writes_under_its_root_and_answers_file_urls(tmp_path: Path) -> None:
    store = AssetStore(AssetsConfig(store=f"file://{tmp_path}/assets"))
    key = store.key("openai-main", "video_1", 0, "video", "video/mp4", None)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a" * 10
        yield b"b" * 10

    url = await store.put(key, chunks(), "video/mp4")
    assert url == f"file://{tmp_path}/assets/openai-main/video_1/0-video.mp4"
    assert (tmp_path / "assets/openai-main/video_1/0-video.mp4").read_bytes() == b"a" * 10 + b"b" * 10
    assert "probe" in await store.check_writable()
    assert sorted(path.name for path in (tmp_path / "assets").iterdir()) == [
        ".videohooks-probe",
        "openai-main",
    ]
    assert list((tmp_path / "assets/.videohooks-probe").iterdir()) == []


def test_a_relative_directory_is_taken_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = AssetStore(AssetsConfig(store="var/assets"))
    assert store.url("k") == f"file://{tmp_path}/var/assets/k"


async def test_an_s3_store_is_writable_and_answers_s3_urls(s3_server: S3Server, bucket: str) -> None:
    store = AssetStore(s3_config(s3_server, bucket))
    assert f"s3://{bucket}/videohooks/.videohooks-probe" in await store.check_writable()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 100

    url = await store.put("videohooks/s/t/0-video.mp4", chunks(), "video/mp4")
    assert url == f"s3://{bucket}/videohooks/s/t/0-video.mp4"
    stored = s3_server.get(bucket, "videohooks/s/t/0-video.mp4")
    assert (stored.content, stored.headers["content-type"]) == (b"x" * 100, "video/mp4")


async def test_an_unreachable_store_fails_its_check(tmp_path: Path) -> None:
    store = AssetStore(
        AssetsConfig(
            store="s3://nowhere", s3_endpoint="http://127.0.0.1:9", access_key_id="k", secret_access_key="s"
        )
    )
    with pytest.raises(Exception, match=r"127\.0\.0\.1:9"):
        await store.check_writable()


async def test_inline_media_is_decoded_into_the_store_in_slices(s3_server: S3Server, bucket: str) -> None:
    media = os.urandom(SLICE_CHARS // 4 * 3 * 2 + 1000)  # three slices, the last one short
    data = "data:video/mp4;base64," + base64.b64encode(media).decode()
    store = AssetStore(s3_config(s3_server, bucket))
    copy = await store_inline(
        store, data, source="gemini", task_id="op-1", index=0, kind="video", max_bytes=len(media)
    )
    assert copy.url == f"s3://{bucket}/videohooks/gemini/op-1/0-video.mp4"
    assert (copy.content_type, copy.bytes, copy.sha256) == (
        "video/mp4",
        len(media),
        hashlib.sha256(media).hexdigest(),
    )
    assert s3_server.get(bucket, "videohooks/gemini/op-1/0-video.mp4").content == media


async def test_inline_media_that_is_not_base64_or_too_large_is_refused(tmp_path: Path) -> None:
    store = AssetStore(AssetsConfig(store=str(tmp_path)))
    with pytest.raises(AssetError) as caught:
        await store_inline(
            store, "not base64!", source="g", task_id="t", index=0, kind="video", max_bytes=100
        )
    assert caught.value.code == "asset_invalid_inline"
    wrapped = base64.encodebytes(b"z" * 300).decode()  # 76-character lines
    with pytest.raises(AssetError) as caught:
        await store_inline(store, wrapped, source="g", task_id="t", index=1, kind="video", max_bytes=299)
    assert caught.value.code == "asset_too_large"
    copy = await store_inline(store, wrapped, source="g", task_id="t", index=2, kind="video", max_bytes=300)
    assert (tmp_path / "g/t/2-video").read_bytes() == b"z" * 300
    assert copy.content_type is None
    assert not (tmp_path / "g/t/0-video").exists()


async def test_doctor_checks_the_store_takes_writes(tmp_path: Path, s3_server: S3Server, bucket: str) -> None:
    assert (await store_check(None)).level == "ok"
    assert (await store_check(AssetsConfig(store=str(tmp_path)))).level == "ok"
    assert (await store_check(s3_config(s3_server, bucket))).level == "ok"
    missing = await store_check(s3_config(s3_server, "no-such-bucket-here"))
    assert missing.level == "fail"
    assert "s3://no-such-bucket-here/videohooks" in missing.detail
