"""Faults: each injected fault drives the client exactly as the real failure would."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI

from estore.kit.breaker import BreakerState, CircuitBreaker
from estore.kit.clients import (
    CircuitOpenError,
    DependencyError,
    DependencyTimeout,
    DependencyUnavailable,
    ServiceClient,
)
from estore.kit.clock import FakeClock
from estore.kit.faults import Fault, Faults
from estore.kit.transport import InProcessTransport

T = TypeVar("T")
STEP = 0.005


class Product:
    """A healthy dependency that counts how often it is really reached."""

    def __init__(self) -> None:
        self.hits = 0
        self.app = FastAPI()

        @self.app.api_route("/items/{item}", methods=["GET", "POST"])
        async def item(item: str) -> dict[str, str]:
            self.hits += 1
            return {"item": item}


@pytest.fixture
def product() -> Product:
    return Product()


@pytest.fixture
def faults() -> Faults:
    return Faults(seed=1234)


def make_client(
    product: Product, clock: FakeClock, faults: Faults, name: str = "product", **kwargs: Any
) -> ServiceClient:
    kwargs.setdefault("breaker", CircuitBreaker(name, clock, failure_threshold=5))
    transport = InProcessTransport(product.app)
    return ServiceClient(name, f"http://{name}", transport, clock=clock, faults=faults, **kwargs)


async def test_error_fault_answers_in_place_of_the_dependency(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_error("product", 503)
    client = make_client(product, clock, faults)

    with pytest.raises(DependencyUnavailable) as failed:
        await clock.drive(client.get("/items/1"))

    assert failed.value.status == 503
    assert product.hits == 0
    assert faults.injected("product", "error") == 3  # every attempt of the retried GET


async def test_error_fault_that_stops_after_two_is_retried_then_succeeds(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_error("product", 502, times=2)
    client = make_client(product, clock, faults)

    response = await clock.drive(client.get("/items/1"))

    assert response.json() == {"item": "1"}
    assert (faults.injected("product"), product.hits) == (2, 1)
    assert faults.active("product") == ()


async def test_error_faults_open_the_breaker_after_the_threshold(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_error("product", 500)
    client = make_client(product, clock, faults)
    for _ in range(5):
        with pytest.raises(DependencyError):
            await clock.drive(client.get("/items/1"))

    with pytest.raises(CircuitOpenError):
        await clock.drive(client.get("/items/1"))

    assert client.breaker.state is BreakerState.OPEN
    assert faults.injected("product") == 5  # the open breaker refused before any fault ran


async def test_timeout_fault_hangs_until_the_deadline_then_raises_a_typed_timeout(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_timeout("product")
    client = make_client(product, clock, faults, deadline=0.8)
    call = asyncio.ensure_future(client.get("/items/1"))
    for _ in range(20):
        await asyncio.sleep(0)

    await clock.advance(0.79)
    for _ in range(20):
        await asyncio.sleep(0)
    assert not call.done()
    await clock.advance(0.01)
    for _ in range(20):
        await asyncio.sleep(0)

    with pytest.raises(DependencyTimeout):
        call.result()
    assert [i.kind for i in faults.history] == ["timeout"]
    assert product.hits == 0


async def test_outage_makes_the_dependency_unavailable(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_outage("product")
    client = make_client(product, clock, faults)

    with pytest.raises(DependencyUnavailable) as get_failed:
        await clock.drive(client.get("/items/1"))
    with pytest.raises(DependencyUnavailable):
        await clock.drive(client.post("/items/1", json={}))

    assert "ConnectError" in get_failed.value.reason
    assert faults.injected("product", "outage") == 3 + 1  # GET retried, POST not


async def test_latency_fault_delays_the_call_on_the_clock(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_latency("product", 0.3)
    client = make_client(product, clock, faults)

    response = await clock.drive(client.get("/items/1"))

    assert response.status_code == 200
    assert 0.3 <= clock.monotonic() <= 0.3 + 2 * STEP
    assert faults.history[0].detail == 0.3


async def test_latency_beyond_the_deadline_times_out(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_latency("product", 5.0)
    client = make_client(product, clock, faults, deadline=1.0)

    with pytest.raises(DependencyTimeout):
        await clock.drive(client.get("/items/1"))

    assert product.hits == 0


async def test_latency_range_draws_are_seeded_and_within_the_range(
    product: Product, clock: FakeClock
) -> None:
    async def delays(seed: int) -> list[float]:
        faults = Faults(seed=seed)
        faults.inject_latency("product", 0.01, up_to=0.05)
        client = make_client(product, clock, faults)
        for _ in range(5):
            await clock.drive(client.get("/items/1"))
        return [float(i.detail or 0) for i in faults.history]

    first, again, other = await delays(3), await delays(3), await delays(4)

    assert first == again != other
    assert all(0.01 <= d <= 0.05 for d in first)


async def test_rate_fires_a_seeded_share_of_calls(product: Product, clock: FakeClock) -> None:
    async def fired(seed: int) -> int:
        faults = Faults(seed=seed)
        faults.inject_error("product", 404, rate=0.25)
        client = make_client(product, clock, faults)
        for _ in range(400):
            await client.get("/items/1")
        return faults.injected("product")

    first, again = await fired(11), await fired(11)

    assert first == again
    assert 70 <= first <= 130


async def test_clear_disarms_faults_but_keeps_the_record(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_error("product", 500)
    faults.inject_latency("product", 0.1)
    client = make_client(product, clock, faults)
    with pytest.raises(DependencyError):
        await clock.drive(client.get("/items/1"))

    faults.clear("product")
    response = await clock.drive(client.get("/items/1"))

    assert response.status_code == 200
    assert faults.summary() == {"product": {"error": 1, "latency": 1}}


async def test_faults_are_kept_per_dependency(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_outage("coupon")
    product_client = make_client(product, clock, faults)
    coupon_client = make_client(product, clock, faults, name="coupon")

    response = await clock.drive(product_client.get("/items/1"))
    with pytest.raises(DependencyUnavailable):
        await clock.drive(coupon_client.get("/items/1"))

    assert response.status_code == 200
    assert (faults.injected("product"), faults.injected("coupon")) == (0, 3)


@pytest.mark.parametrize(
    "arm",
    [
        lambda f: f.inject_error("product", 200),
        lambda f: f.inject_outage("product", rate=0.0),
        lambda f: f.inject_latency("product", 0.5, up_to=0.1),
        lambda f: f.inject_timeout("product", times=0),
        lambda f: f.inject_late("product", 0.0),
    ],
    ids=["not-an-error-status", "zero-rate", "inverted-range", "zero-times", "not-late"],
)
def test_meaningless_faults_are_refused(arm: Any) -> None:
    with pytest.raises(ValueError):
        arm(Faults())


async def test_reset_fault_lets_the_dependency_act_and_loses_its_answer(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_reset("product", times=1)
    client = make_client(product, clock, faults)

    with pytest.raises(DependencyUnavailable):
        await clock.drive(client.post("/items/1"))

    assert product.hits == 1  # the work was done; only the answer was lost
    assert [i.kind for i in faults.history] == ["reset"]
    assert (await clock.drive(client.post("/items/2"))).json() == {"item": "2"}


async def test_late_fault_loses_the_answer_at_once_and_delivers_the_request_later(
    product: Product, clock: FakeClock, faults: Faults
) -> None:
    faults.inject_late("product", 30.0, times=1)
    client = make_client(product, clock, faults)

    with pytest.raises(DependencyUnavailable) as lost:
        await clock.drive(client.post("/items/1"))
    assert lost.value.maybe_sent  # the caller must not conclude that nothing was done
    assert product.hits == 0

    await clock.advance(29.0)
    assert product.hits == 0
    await clock.advance(1.0)
    await asyncio.sleep(0.01)  # the in-process transport answers over a few loop turns
    assert product.hits == 1
    assert [i.kind for i in faults.history] == ["late"]


def test_disarming_one_kind_leaves_the_dependencys_other_faults_armed(faults: Faults) -> None:
    faults.inject_latency("product", 0.1)
    faults.inject_outage("product", times=3)

    faults.disarm("product", "outage")

    assert [f.kind for f in faults.active("product")] == ["latency"]
    faults.disarm("product", "latency")
    assert not faults.armed("product")


def test_reseeding_restarts_the_draws(faults: Faults) -> None:
    def draws() -> list[float]:
        return [faults._latency(Fault("latency", up_to=1.0)) for _ in range(3)]

    faults.reseed(5)
    first = draws()
    faults.reseed(5)

    assert draws() == first


async def test_strike_plays_faults_on_a_call_that_is_not_http(
    clock: FakeClock, faults: Faults
) -> None:
    """A store command (Redis, say) meets the same seam: latency waits, an outage is returned
    for the caller to raise its own way, and both are counted under the dependency."""
    faults.inject_latency("redis", 0.2)
    faults.inject_outage("redis")

    fired = await clock.drive(faults.strike("redis", clock))

    assert fired is not None and fired.kind == "outage"
    assert 0.2 <= clock.monotonic() <= 0.2 + 2 * STEP
    assert faults.summary() == {"redis": {"latency": 1, "outage": 1}}
    assert await faults.strike("cache", clock) is None
