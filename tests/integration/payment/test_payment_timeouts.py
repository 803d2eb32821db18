"""The timeout dial through a real service client on a fake clock: the ambiguous charge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.clients import ClientMetrics, DependencyTimeout, ServiceClient
from estore.kit.clock import FakeClock
from estore.kit.transport import InProcessTransport

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEADLINE = 2.0
CHARGE = {
    "idempotency_key": "order-9",
    "amount": 4999,
    "currency": "EUR",
    "card_number": "4242424242424242",
    "customer_id": "cust-9",
}


class WatchedClock(FakeClock):
    """A fake clock that remembers what was slept, so a test moves time only once it is due."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await super().sleep(seconds)

    async def until_sleeping(self, seconds: float) -> None:
        for _ in range(10_000):
            if seconds in self.slept:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"nothing ever slept {seconds}s")


@pytest.fixture
async def timed() -> AsyncIterator[tuple[Cluster, WatchedClock]]:
    clock = WatchedClock()
    cluster = Cluster(Wiring(clock=clock), services=["payment"])
    await cluster.start()
    try:
        yield cluster, clock
    finally:
        await cluster.stop()


def client_for(cluster: Cluster, clock: FakeClock) -> ServiceClient:
    key = cluster.infras["payment"].settings.payment_secret_key
    assert key is not None
    return ServiceClient(
        "payment",
        "http://payment",
        InProcessTransport(cluster.apps["payment"]),
        clock=clock,
        deadline=DEADLINE,
        header_providers=[lambda: {"Authorization": f"Bearer {key.get_secret_value()}"}],
        metrics=ClientMetrics(CollectorRegistry()),
    )


async def advance_until_done(clock: FakeClock, task: asyncio.Task[object], step: float) -> None:
    for _ in range(100):
        if task.done():
            return
        await clock.advance(step)
        for _ in range(50):
            await asyncio.sleep(0)
    raise AssertionError("the call never finished")


async def test_a_timed_out_charge_is_recorded_and_found_by_its_key(
    timed: tuple[Cluster, WatchedClock],
) -> None:
    cluster, clock = timed
    payment = client_for(cluster, clock)
    dialled = await payment.post("/api/v1/admin/behaviour", json={"timeout_rate": 1.0})
    assert dialled.status_code == 200

    call = asyncio.create_task(payment.post("/api/v1/charges", json=CHARGE))
    await clock.until_sleeping(30.0)
    await advance_until_done(clock, call, 0.5)
    with pytest.raises(DependencyTimeout):
        call.result()

    found = await payment.get("/api/v1/charges", params={"idempotency_key": "order-9"})
    assert found.status_code == 200
    assert found.json()["status"] == "SUCCEEDED"
    retried = await payment.post("/api/v1/charges", json=CHARGE)
    assert retried.status_code == 200
    assert retried.json()["id"] == found.json()["id"]
    assert await cluster.infras["payment"].db["charges"].count_documents({}) == 1


async def test_latency_below_the_deadline_still_charges(
    timed: tuple[Cluster, WatchedClock],
) -> None:
    cluster, clock = timed
    payment = client_for(cluster, clock)
    await payment.post("/api/v1/admin/behaviour", json={"latency_ms": 1500})
    call = asyncio.create_task(payment.post("/api/v1/charges", json=CHARGE))
    await clock.until_sleeping(1.5)
    await advance_until_done(clock, call, 0.5)
    assert call.result().status_code == 201


async def test_latency_past_the_deadline_times_the_caller_out_before_anything_is_charged(
    timed: tuple[Cluster, WatchedClock],
) -> None:
    cluster, clock = timed
    payment = client_for(cluster, clock)
    await payment.post("/api/v1/admin/behaviour", json={"latency_ms": 5000})
    call = asyncio.create_task(payment.post("/api/v1/charges", json=CHARGE))
    await clock.until_sleeping(5.0)
    await advance_until_done(clock, call, 0.5)
    with pytest.raises(DependencyTimeout):
        call.result()
    missing = await payment.get("/api/v1/charges", params={"idempotency_key": "order-9"})
    assert missing.status_code == 404
