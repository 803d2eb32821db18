"""A slowed service, planted through the fault seam: the real product service is called through
its real `ServiceClient` on a fake clock, first with a network's latency injected, then with the
product dependency slowed. The measured latencies (fake-clock milliseconds, so the figures do
not depend on the machine's speed) become the load part's response-time histograms, and the
report must call the slowdown a regression and name the operation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.clients import ServiceClient
from estore.kit.clock import FakeClock
from estore.kit.faults import Faults
from estore.kit.transport import InProcessTransport
from tests.reports.plant import Artifacts, build, campaign_json

CALLS = 120
NETWORK_S = (0.010, 0.020)
SLOWED_S = (0.016, 0.030)


async def measured(latency: tuple[float, float]) -> dict[str, int]:
    """Response times of GET /health on the product service with `latency` injected."""
    cluster = Cluster(Wiring(), services=["product"])
    await cluster.start()
    try:
        clock, faults = FakeClock(), Faults(seed=7)
        faults.inject_latency("product", latency[0], up_to=latency[1])
        transport = InProcessTransport(cluster.apps["product"])
        client = ServiceClient("product", "http://product", transport, clock=clock, faults=faults)
        times: Counter[str] = Counter()
        for _ in range(CALLS):
            start = clock.monotonic()
            response = await clock.drive(client.get("/health"), step=0.001)
            assert response.status_code == 200
            times[str(round((clock.monotonic() - start) * 1000))] += 1
        assert faults.injected("product", "latency") == CALLS
        return dict(times)
    finally:
        await cluster.stop()


def plant_stats(artifacts: Artifacts, histogram: dict[str, int]) -> None:
    stats = artifacts.load_run / "stats.json"
    entries = json.loads(stats.read_text())
    entries.append(
        {"name": "product /health", "method": "GET", "start_time": 1000.0,
         "last_request_timestamp": 1060.0, "num_requests": sum(histogram.values()),
         "num_failures": 0, "response_times": histogram}
    )  # fmt: skip
    stats.write_text(json.dumps(entries))


@pytest.fixture(scope="module")
def campaign() -> str:
    return campaign_json()


async def test_a_service_slowed_through_the_fault_seam_is_a_named_regression(
    tmp_path: Path, campaign: str
):
    before = Artifacts(tmp_path / "before").clean(campaign)
    plant_stats(before, await measured(NETWORK_S))
    baseline = build(before, tmp_path / "before" / "out")

    same = Artifacts(tmp_path / "same").clean(campaign)
    plant_stats(same, await measured(NETWORK_S))
    unchanged = build(same, tmp_path / "same" / "out", baseline=(baseline, "before"))
    [rule] = [r for r in unchanged["rules"] if r["rule"] == "no_latency_regression"]
    assert rule["verdict"] == "pass", rule

    slowed = Artifacts(tmp_path / "slowed").clean(campaign)
    plant_stats(slowed, await measured(SLOWED_S))
    report = build(slowed, tmp_path / "slowed" / "out", baseline=(baseline, "before"))
    assert report["decision"]["verdict"] == "no-go"
    [rule] = [r for r in report["rules"] if r["rule"] == "no_latency_regression"]
    assert rule["verdict"] == "fail"
    assert rule["measured"].startswith("1 of 4 operation(s) slower")
    assert rule["evidence"][0].startswith("GET product /health: median ")
