"""Seeding a serving cluster: a failing peer call is retried, a lasting failure is reported and
readiness says "seeding" until the data is in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.seed import ATTEMPTS, SeedReport, seed_while_serving
from tests.conftest import FAST_HASHING

pytestmark = pytest.mark.asyncio(loop_scope="function")

PRODUCTS = 12


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    built = Cluster(Wiring(), services=["auth", "category", "product"], overrides=FAST_HASHING)
    await built.start()
    try:
        yield built
    finally:
        await built.stop()


class Sleeps:
    """The seeding's sleeper: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def readiness(cluster: Cluster, service: str) -> tuple[int, str]:
    async with cluster.client(service) as client:
        response = await client.get("/health/ready")
    return response.status_code, response.json()["checks"]["startup"]


async def test_a_failed_category_call_during_seeding_is_retried_and_seeding_completes(
    cluster: Cluster,
) -> None:
    # Three refused connections: every attempt the product service's client makes for one
    # category lookup, so the call fails and only the seeding's own retry gets past it.
    cluster.wiring.faults.inject_outage("category", times=3)
    sleeps = Sleeps()
    outcome = await seed_while_serving(cluster, PRODUCTS, sleep=sleeps)
    assert isinstance(outcome, SeedReport), outcome
    assert outcome.catalog is not None and outcome.catalog.products_created == PRODUCTS
    assert cluster.wiring.faults.injected("category") == 3
    assert len(sleeps.waits) == 1
    assert await readiness(cluster, "product") == (200, "up")


async def test_a_lasting_failure_is_reported_and_readiness_stays_not_ready_with_why(
    cluster: Cluster,
) -> None:
    cluster.wiring.faults.inject_outage("category")
    sleeps = Sleeps()
    outcome = await seed_while_serving(cluster, PRODUCTS, sleep=sleeps)
    assert isinstance(outcome, str) and "category" in outcome
    assert len(sleeps.waits) == ATTEMPTS - 1
    for service in cluster.apps:
        status, why = await readiness(cluster, service)
        assert status == 503
        assert "seeding failed" in why and "category" in why, why
    async with cluster.client("product") as product:
        assert (await product.get("/health")).status_code == 200
        assert (await product.get("/api/v1/products")).status_code == 200


async def test_readiness_says_seeding_while_the_data_is_going_in(cluster: Cluster) -> None:
    seen: list[tuple[int, str]] = []

    async def look_while_waiting(seconds: float) -> None:
        seen.append(await readiness(cluster, "auth"))

    cluster.wiring.faults.inject_outage("category", times=3)
    assert isinstance(
        await seed_while_serving(cluster, PRODUCTS, sleep=look_while_waiting), SeedReport
    )
    assert seen == [(503, "down: NotReady: seeding")]
