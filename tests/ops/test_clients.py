"""The consumer packages: generated from the committed schemas (no drift), and the TypeScript one's
`npm test` and a typed read of a running receiver's events, against the suite's real Redis (7 and 6.2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from receiver.config import parse_config
from receiver.foundation.keys import KeySpace
from receiver.http.app import create_app
from tests.support import ROOT
from tests.support.config import config_dict
from tests.support.deliveries import memories_body

PYTHON_PACKAGE = ROOT / "clients" / "python" / "src" / "videohooks_events"
TS_PACKAGE = ROOT / "clients" / "typescript"


def test_the_python_models_are_what_the_schemas_give(tmp_path: Path) -> None:
    subprocess.run([ROOT / "clients" / "python" / "generate", tmp_path], check=True, capture_output=True)
    for name in ("v1.py", "v2.py"):
        assert (tmp_path / name).read_text() == (PYTHON_PACKAGE / name).read_text(), (
            f"clients/python/src/videohooks_events/{name} drifted from the schemas: run make clients"
        )


def node() -> str:
    binary = shutil.which("node")
    if binary is None or not (TS_PACKAGE / "node_modules").is_dir():
        pytest.fail("node and clients/typescript/node_modules are needed: run make test (it installs them)")
    return binary


@pytest.mark.timeout(600)  # node, tsc and the AsyncAPI parser start slowly on a loaded machine
@pytest.mark.parametrize(
    ("server", "tests"),
    [("redis_url", "test/"), ("redis62_url", "test/consume.test.mjs")],
    ids=["all-redis7", "consume-redis6.2"],
)
def test_the_typescript_package_passes_its_tests(
    server: str, tests: str, request: pytest.FixtureRequest
) -> None:
    """`npm test` there (parsing, consume with reclaim and poison, no drift, asyncapi.yaml valid); its
    consume tests again on Redis 6.2."""
    env = {**os.environ, "REDIS_URL": request.getfixturevalue(server)}
    result = subprocess.run(
        [node(), "--test", tests], cwd=TS_PACKAGE, env=env, capture_output=True, text=True, timeout=540
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


# A ten-line consumer of the package as shipped (dist/), printing what it read as JSON lines.
CONSUMER = """
import { createClient } from 'redis';
import { consume } from './dist/index.js';
const [url, wanted, ...streams] = process.argv.slice(1);
const client = await createClient({ url }).connect();
const controller = new AbortController();
let seen = 0;
await consume(client, streams, 'ts-readers', 'w1', ({ event }) => {
  const texts = event.segments.map((segment) => segment.text);
  console.log(JSON.stringify({ version: event.schema_version, task: event.task_id, texts }));
  if (++seen === Number(wanted)) controller.abort();
}, { blockMs: 50, signal: controller.signal });
await client.quit();
"""


def test_a_typescript_consumer_reads_a_running_receivers_events(redis_url: str, prefix: str) -> None:
    settings = config_dict(prefix, redis_url)
    settings["redis"] = {"url": redis_url, "prefix": prefix, "partitions": 2}
    with TestClient(create_app(parse_config(settings))) as client:
        for number in range(4):
            response = client.post("/v1/callbacks/memories-open", content=memories_body(f"ts-{number}"))
            assert response.json()["status"] == "accepted"
    streams = KeySpace(prefix, partitions=2).all_events()
    result = subprocess.run(
        [node(), "--input-type=module", "-e", CONSUMER, redis_url, "4", *streams],
        cwd=TS_PACKAGE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    read = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(item["task"] for item in read) == [f"ts-{number}" for number in range(4)]
    assert {item["version"] for item in read} == {2}
    assert all(item["texts"] == ["a", "b"] for item in read)
