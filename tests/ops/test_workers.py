"""`videohooks serve --workers 2`: several processes, one set of metrics.

Each worker counts only what it answered; without prometheus-client's multiprocess mode a scrape
would show whichever worker it reached. The serve command gives the workers a shared directory, and
every scrape, whichever worker answers it, reports the deliveries of all of them.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import LiveReceiver, live_receiver
from tests.support.deliveries import memories_body, signed_headers
from tests.support.waiting import wait_until

DELIVERIES = 40


# No connection is kept for reuse: each request opens its own, and the kernel spreads them over the
# workers. One client for all of them, because building a client costs a tenth of a second or more here.
FRESH_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)


async def deliver_all(url: str, first: int = 0) -> list[int]:
    """Each delivery on a connection of its own, so that the kernel spreads them over the workers;
    tasks numbered from `first`, so that every round publishes new events."""

    async def one(client: httpx.AsyncClient, index: int) -> int:
        body = memories_body(f"worker-task-{index}")
        answer = await client.post(
            "/v1/callbacks/memories-signed", content=body, headers=signed_headers(body, f"wk-{index}")
        )
        return answer.status_code

    async with httpx.AsyncClient(base_url=url, timeout=10, limits=FRESH_CONNECTIONS) as client:
        return list(await asyncio.gather(*(one(client, first + index) for index in range(DELIVERIES))))


def accepted_count(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "videohooks_deliveries_total"
        and sample.labels == {"source": "memories-signed", "outcome": "accepted"}
    )


def test_metrics_count_every_workers_deliveries_whichever_worker_is_scraped(
    config_file: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with live_receiver(config_file, env={"TMPDIR": str(scratch)}, extra_args=["--workers", "2"]) as receiver:
        # /livez answered as soon as one worker was up: both must be serving before the deliveries.
        wait_until(lambda: receiver.log().count("Application startup complete") == 2, timeout=60)
        [metrics_dir] = scratch.glob("videohooks-metrics-*")
        # The kernel hands each new connection to whichever worker accepts first: on a busy machine
        # one round can all go to one worker, so rounds go on (a few at most) until both answered.
        rounds = 0
        while rounds < 5 and len({path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("*.db")}) < 2:
            assert asyncio.run(deliver_all(receiver.url, first=rounds * DELIVERIES)) == [202] * DELIVERIES
            rounds += 1
        pids = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("*.db")}
        assert len(pids) >= 2, "both workers wrote samples"
        scrapes = [httpx.get(f"{receiver.url}/metrics", timeout=5).text for _ in range(10)]
    assert [accepted_count(text) for text in scrapes] == [rounds * DELIVERIES] * 10
    assert all("python_gc_objects_collected_total" not in text for text in scrapes), "multiprocess registry"
    assert list(scratch.iterdir()) == [], "the metrics directory is removed when serve stops"


def test_sigterm_drains_every_worker_before_the_server_stops(config_file: Path, tmp_path: Path) -> None:
    """With several workers too: /readyz turns 503 in each at once, callbacks are still accepted
    during `shutdown_delay_seconds`, then the workers stop and serve exits 0."""
    with config_file.open("a", encoding="utf-8") as extra:
        extra.write("\n[server]\nshutdown_delay_seconds = 3\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    receiver = LiveReceiver(config_file, env={"TMPDIR": str(scratch)}, extra_args=["--workers", "2"])
    receiver.start()
    assert receiver.process is not None
    try:
        # /livez answered as soon as one worker was up: the signal must find both serving.
        wait_until(lambda: receiver.log().count("Application startup complete") == 2, timeout=60)
        receiver.process.send_signal(signal.SIGTERM)
        wait_until(lambda: receiver.log().count('"event":"draining"') == 2)  # both workers heard it
        with httpx.Client(base_url=receiver.url, timeout=2, limits=FRESH_CONNECTIONS) as client:
            ready = [client.get("/readyz") for _ in range(10)]
        assert {(answer.status_code, answer.json()["status"]) for answer in ready} == {(503, "shutting_down")}
        assert asyncio.run(deliver_all(receiver.url)) == [202] * DELIVERIES
        assert receiver.process.wait(timeout=30) == 0
        receiver.process = None
    finally:
        if receiver.process is not None:
            receiver.stop(signal.SIGKILL)
    assert receiver.log().count('"event":"draining"') == 2  # one line per worker
