"""The /metrics surface adds up: deliveries by outcome, quarantines by reason, latencies observed once per
answer and per publish, and tokens by model equal to the published events' usage, so that a provider's
bill can be checked from the receiver's side."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from starlette.testclient import TestClient

from receiver.config import Config
from receiver.core.publisher import Publisher
from receiver.foundation.keys import KeySpace
from receiver.services.fixtures import load_fixtures
from schemas.event import Usage
from schemas.normalizing import DeliveryContext, build_event
from tests.support import FIXTURES
from tests.support.deliveries import post_fixture

Sample = tuple[str, tuple[tuple[str, str], ...]]


def scrape(client: TestClient) -> Counter[Sample]:
    """Every videohooks counter and histogram count of /metrics, keyed by name and sorted labels."""
    samples: Counter[Sample] = Counter()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if not family.name.startswith("videohooks_"):
            continue
        for sample in family.samples:
            if sample.name.endswith(("_total", "_count")):
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = int(sample.value)
    return samples


def increase(before: Counter[Sample], after: Counter[Sample]) -> Counter[Sample]:
    return Counter({key: after[key] - before[key] for key in after if after[key] != before[key]})


def test_counters_add_up_to_the_published_events(client: TestClient, config: Config) -> None:
    # memories.ai callbacks carry their result, usage included; other providers' go through the same code.
    fixtures = load_fixtures([FIXTURES / "memories"])
    expected: Counter[Sample] = Counter()
    before = scrape(client)
    for fixture in fixtures:
        status, answer = post_fixture(client, config, fixture)
        assert status == 202
        outcome = str(answer["status"])
        assert outcome == fixture.expected_outcome
        expected[("videohooks_deliveries_total", (("outcome", outcome), ("source", fixture.source)))] += 1
        expected[("videohooks_request_duration_seconds_count", (("source", fixture.source),))] += 1
        if outcome == "quarantined":
            reason = ("reason", str(fixture.expected_reason))
            expected[("videohooks_quarantined_total", (reason, ("source", fixture.source)))] += 1
            continue
        # One post at a time: each publish is one call of the publish script, a batch of one.
        expected[("videohooks_publish_duration_seconds_count", ())] += 1
        expected[("videohooks_publish_batch_size_count", ())] += 1
        expected[("videohooks_publications_total", (("outcome", outcome), ("source", fixture.source)))] += 1
        assert fixture.expected is not None
        usage = fixture.expected["usage"]
        model = fixture.expected["model"] or "unknown"
        for direction in ("input", "output"):
            if usage[f"{direction}_tokens"]:
                labels = (("direction", direction), ("model", model), ("provider", fixture.provider))
                expected[("videohooks_tokens_total", labels)] += usage[f"{direction}_tokens"]
    # The provider retrying the first accepted delivery: counted as a duplicate, its tokens not again.
    first = next(fixture for fixture in fixtures if fixture.expected_outcome == "accepted")
    assert post_fixture(client, config, first)[1]["status"] == "duplicate"
    expected[("videohooks_deliveries_total", (("outcome", "duplicate"), ("source", first.source)))] += 1
    expected[("videohooks_request_duration_seconds_count", (("source", first.source),))] += 1
    expected[("videohooks_publish_duration_seconds_count", ())] += 1
    expected[("videohooks_publish_batch_size_count", ())] += 1
    expected[("videohooks_publications_total", (("outcome", "duplicate"), ("source", first.source)))] += 1

    # A refused delivery is counted and timed as well, under its source.
    assert client.post("/v1/callbacks/memories-main/not-the-token", content=first.body).status_code == 401
    expected[("videohooks_deliveries_total", (("outcome", "unauthentic"), ("source", "memories-main")))] += 1
    expected[("videohooks_request_duration_seconds_count", (("source", "memories-main"),))] += 1

    assert any(name == "videohooks_tokens_total" for name, _ in expected)
    assert increase(before, scrape(client)) == expected


async def test_tokens_count_events_published_by_any_path(redis_url: str, prefix: str) -> None:
    """A fetched or polled result (a TwelveLabs analysis, whose webhook carries no usage) is published
    straight through the publisher: its tokens count too, and a duplicate's do not count again."""
    client = Redis.from_url(redis_url)
    publisher = Publisher(client, KeySpace(prefix), dedupe_ttl_seconds=3600)
    ctx = DeliveryContext("twelvelabs-main", "twelvelabs", datetime.now(UTC), "whe_tokens")
    event = build_event(
        ctx,
        task_id="task-tokens",
        task_type="analysis",
        status="succeeded",
        model="pegasus1.2",
        usage=Usage(input_tokens=700, output_tokens=90, total_tokens=790),
    )
    labels = {"provider": "twelvelabs", "model": "pegasus1.2"}

    def tokens(direction: str) -> float:
        return REGISTRY.get_sample_value("videohooks_tokens_total", {**labels, "direction": direction}) or 0.0

    before = (tokens("input"), tokens("output"))
    try:
        assert (await publisher.publish(event)).outcome == "accepted"
        assert (await publisher.publish(event)).outcome == "duplicate"
    finally:
        await client.aclose()
    assert (tokens("input") - before[0], tokens("output") - before[1]) == (700, 90)
