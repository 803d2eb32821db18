"""ServiceClient: deadlines, retries, breaker, headers and metrics against an in-process app."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, generate_latest

from estore.kit.breaker import BreakerState, CircuitBreaker
from estore.kit.clients import (
    CircuitOpenError,
    ClientMetrics,
    ClientRegistry,
    DependencyError,
    DependencyTimeout,
    DependencyUnavailable,
    RetryPolicy,
    ServiceClient,
)
from estore.kit.clock import FakeClock
from estore.kit.faults import Faults
from estore.kit.transport import InProcessTransport

T = TypeVar("T")
STEP = 0.005


async def settle() -> None:
    """Let every task that can run, run, without moving the clock."""
    for _ in range(50):
        await asyncio.sleep(0)


class Target:
    """A product service stand-in that fails or stalls on request, and records each hit."""

    def __init__(self, clock: FakeClock) -> None:
        self.hits: list[tuple[str, float]] = []
        self.failures_left = 0
        self.failure_status = 503
        self.stall_first = 0.0
        self.app = self._build(clock)

    def _build(self, clock: FakeClock) -> FastAPI:
        app = FastAPI()

        @app.api_route("/items/{item}", methods=["GET", "POST", "PUT"])
        async def item(item: str, request: Request) -> JSONResponse:
            self.hits.append((request.method, clock.monotonic()))
            if self.stall_first and len(self.hits) == 1:
                await clock.sleep(self.stall_first)
            if self.failures_left:
                self.failures_left -= 1
                return JSONResponse({"error": "down"}, status_code=self.failure_status)
            return JSONResponse(
                {
                    "item": item,
                    "query": request.url.query,
                    "body": (await request.body()).decode(),
                    "headers": [[k.decode(), v.decode()] for k, v in request.headers.raw],
                }
            )

        @app.get("/missing")
        async def missing() -> JSONResponse:
            self.hits.append(("GET", clock.monotonic()))
            return JSONResponse({"error": "not found"}, status_code=404)

        return app


@pytest.fixture
def target(clock: FakeClock) -> Target:
    return Target(clock)


def make_client(target: Target, clock: FakeClock, **kwargs: Any) -> ServiceClient:
    kwargs.setdefault("breaker", CircuitBreaker("product", clock, failure_threshold=5))
    return ServiceClient(
        "product", "http://product", InProcessTransport(target.app), clock=clock, **kwargs
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_get_returns_the_dependency_answer(target: Target, clock: FakeClock) -> None:
    client = make_client(target, clock)

    response = await clock.drive(client.get("/items/42"))

    assert response.status_code == 200
    assert response.json()["item"] == "42"


async def test_client_errors_are_returned_and_do_not_trip_the_breaker(
    target: Target, clock: FakeClock
) -> None:
    client = make_client(target, clock)

    for _ in range(8):
        response = await clock.drive(client.get("/missing"))
        assert response.status_code == 404

    assert client.breaker.state is BreakerState.CLOSED
    assert len(target.hits) == 8


async def test_idempotent_call_retries_a_503_then_succeeds(
    target: Target, clock: FakeClock
) -> None:
    target.failures_left = 2
    client = make_client(target, clock)

    response = await clock.drive(client.get("/items/1"))

    assert response.status_code == 200
    assert len(target.hits) == 3


@pytest.mark.parametrize(
    ("kwargs", "attempts"),
    [
        ({}, 1),
        ({"headers": {"Idempotency-Key": "order-7"}}, 3),
        ({"idempotent": True}, 3),
    ],
    ids=["plain-post", "idempotency-key", "caller-says-idempotent"],
)
async def test_post_is_retried_only_when_known_to_be_idempotent(
    target: Target, clock: FakeClock, kwargs: dict[str, Any], attempts: int
) -> None:
    target.failures_left = 10
    client = make_client(target, clock)

    with pytest.raises(DependencyUnavailable) as failed:
        await clock.drive(client.post("/items/1", json={"qty": 1}, **kwargs))

    assert failed.value.status == 503
    assert len(target.hits) == attempts


async def test_a_500_is_not_retried_and_carries_status_and_answer(
    target: Target, clock: FakeClock
) -> None:
    target.failures_left, target.failure_status = 10, 500
    client = make_client(target, clock)

    with pytest.raises(DependencyError) as failed:
        await clock.drive(client.get("/items/1"))

    assert not isinstance(failed.value, DependencyUnavailable)
    assert (failed.value.dependency, failed.value.status) == ("product", 500)
    assert failed.value.response is not None
    assert failed.value.response.json() == {"error": "down"}
    assert len(target.hits) == 1


async def test_retries_give_up_rather_than_sleep_past_the_deadline(
    target: Target, clock: FakeClock
) -> None:
    target.failures_left = 100
    retry = RetryPolicy(attempts=50, backoff=0.2, max_backoff=0.8)
    client = make_client(target, clock, retry=retry, deadline=1.0)

    with pytest.raises(DependencyUnavailable):
        await clock.drive(client.get("/items/1"))

    assert 1 < len(target.hits) < 50
    assert clock.monotonic() < 1.0


async def test_backoff_is_seeded_exponential_jitter_on_the_injected_clock() -> None:
    async def gaps(seed: int) -> list[float]:
        clock = FakeClock()
        target = Target(clock)
        target.failures_left = 4
        retry = RetryPolicy(attempts=5, backoff=0.1, max_backoff=10.0)
        client = make_client(target, clock, retry=retry, seed=seed, deadline=10.0)
        await clock.drive(client.get("/items/1"))
        times = [t for _, t in target.hits]
        return [b - a for a, b in itertools.pairwise(times)]

    first, again, other = await gaps(7), await gaps(7), await gaps(8)

    assert first == again != other
    assert len(first) == 4
    for n, gap in enumerate(first, start=1):
        assert 0 <= gap <= 0.1 * 2 ** (n - 1) + 2 * STEP


async def test_deadline_covers_the_call_and_raises_a_typed_timeout(
    target: Target, clock: FakeClock
) -> None:
    target.stall_first = 60.0
    client = make_client(target, clock, breaker=CircuitBreaker("product", clock, 1))

    call = asyncio.ensure_future(client.get("/items/1", deadline=1.0))
    await settle()

    await clock.advance(0.5)
    await settle()
    assert not call.done()
    await clock.advance(0.5)
    await settle()
    with pytest.raises(DependencyTimeout) as failed:
        call.result()
    assert failed.value.dependency == "product"
    assert client.breaker.state is BreakerState.OPEN


async def test_attempt_timeout_leaves_deadline_for_another_attempt(
    target: Target, clock: FakeClock
) -> None:
    target.stall_first = 60.0
    client = make_client(target, clock, retry=RetryPolicy(attempt_timeout=0.3), deadline=2.0)

    response = await clock.drive(client.get("/items/1"))

    assert response.status_code == 200
    assert len(target.hits) == 2
    assert clock.monotonic() < 1.0


async def test_an_injected_hang_is_cut_by_the_attempt_timeout_like_a_real_one(
    target: Target, clock: FakeClock
) -> None:
    faults = Faults()
    faults.inject_timeout("product", times=1)
    client = make_client(
        target, clock, faults=faults, retry=RetryPolicy(attempt_timeout=0.3), deadline=2.0
    )

    response = await clock.drive(client.get("/items/1"))

    assert response.status_code == 200
    assert len(target.hits) == 1  # the hung attempt never reached it; the retry did
    assert clock.monotonic() < 1.0


async def test_open_circuit_rejects_calls_without_reaching_the_dependency(
    target: Target, clock: FakeClock
) -> None:
    target.failures_left, target.failure_status = 10, 500
    breaker = CircuitBreaker("product", clock, failure_threshold=2, reset_timeout=30.0)
    client = make_client(target, clock, breaker=breaker)
    for _ in range(2):
        with pytest.raises(DependencyError):
            await clock.drive(client.get("/items/1"))

    with pytest.raises(CircuitOpenError) as refused:
        await clock.drive(client.get("/items/1"))

    assert len(target.hits) == 2
    assert refused.value.retry_after == pytest.approx(30.0, abs=0.1)
    assert isinstance(refused.value, DependencyUnavailable)


async def test_a_call_refused_by_the_breaker_before_any_attempt_was_never_sent(
    target: Target, clock: FakeClock
) -> None:
    client = make_client(target, clock, breaker=CircuitBreaker("product", clock, 1))
    target.failures_left = 1
    with pytest.raises(DependencyError):
        await clock.drive(client.get("/items/1"))

    with pytest.raises(CircuitOpenError) as refused:
        await clock.drive(client.get("/items/1"))

    assert refused.value.maybe_sent is False


async def test_a_retry_refused_by_the_breaker_still_says_an_earlier_attempt_may_have_landed(
    target: Target, clock: FakeClock
) -> None:
    # The first attempt reaches the dependency and trips the breaker; the retry is refused.
    client = make_client(target, clock, breaker=CircuitBreaker("product", clock, 1))
    target.failures_left = 1

    with pytest.raises(CircuitOpenError) as refused:
        await clock.drive(client.get("/items/1"))

    assert len(target.hits) == 1
    assert refused.value.maybe_sent is True


async def test_transport_errors_surface_as_unavailable_after_retries(clock: FakeClock) -> None:
    class Refusing(httpx.AsyncBaseTransport):
        calls = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            raise httpx.ConnectError("connection refused", request=request)

    transport = Refusing()
    client = ServiceClient("product", "http://product", transport, clock=clock)

    with pytest.raises(DependencyUnavailable) as failed:
        await clock.drive(client.get("/items/1"))

    assert transport.calls == 3
    assert "ConnectError" in failed.value.reason


async def test_caller_going_away_does_not_count_against_the_breaker(
    target: Target, clock: FakeClock
) -> None:
    target.stall_first = 60.0
    client = make_client(target, clock, breaker=CircuitBreaker("product", clock, 1))
    call = asyncio.ensure_future(client.get("/items/1", deadline=5.0))
    await settle()
    await clock.advance(0.5)
    assert len(target.hits) == 1

    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

    assert client.breaker.state is BreakerState.CLOSED


async def test_header_providers_apply_to_every_request_and_caller_headers_win(
    target: Target, clock: FakeClock
) -> None:
    trace = iter(["00-aa-01-01", "00-bb-01-01"])
    providers = [lambda: {"traceparent": next(trace)}, lambda: {"X-Caller": "svc:order"}]
    client = make_client(target, clock, header_providers=providers)

    first = await clock.drive(client.get("/items/1"))
    second = await clock.drive(
        client.get("/items/1", headers=[("x-caller", "user:1"), ("x-tag", "a")])
    )

    sent = [dict(map(tuple, r.json()["headers"])) for r in (first, second)]
    assert [h["traceparent"] for h in sent] == ["00-aa-01-01", "00-bb-01-01"]
    assert (sent[0]["x-caller"], sent[1]["x-caller"]) == ("svc:order", "user:1")
    assert sent[1]["host"] == "product"


async def test_query_params_and_json_body_are_sent(target: Target, clock: FakeClock) -> None:
    client = make_client(target, clock)

    response = await clock.drive(
        client.put("/items/9", params={"tag": ["a", "b"], "exact": True}, json={"q": "é"})
    )

    answer = response.json()
    assert answer["query"] == "tag=a&tag=b&exact=true"
    assert answer["body"] == '{"q":"é"}'
    assert ["content-type", "application/json"] in answer["headers"]


async def test_metrics_count_outcomes_and_durations_on_the_clock(
    target: Target, clock: FakeClock
) -> None:
    registry = CollectorRegistry()
    faults = Faults()
    faults.inject_latency("product", 0.25, times=1)
    client = make_client(target, clock, metrics=ClientMetrics(registry), faults=faults)

    await clock.drive(client.get("/items/1"))
    await clock.drive(client.get("/missing"))
    target.stall_first, target.hits = 60.0, []
    with pytest.raises(DependencyTimeout):
        await clock.drive(client.get("/items/1", deadline=0.5))

    def requests(outcome: str) -> float:
        labels = {"dependency": "product", "outcome": outcome}
        return sample(registry, "estore_dependency_requests_total", **labels)

    assert [requests(o) for o in ("success", "client_error", "timeout", "error")] == [1, 1, 1, 0]
    assert sample(registry, "estore_dependency_request_seconds_count", dependency="product") == 3
    seconds = sample(registry, "estore_dependency_request_seconds_sum", dependency="product")
    assert 0.75 <= seconds <= 0.75 + 4 * STEP


async def test_registry_builds_clients_sharing_faults_and_metrics(clock: FakeClock) -> None:
    class Closable(httpx.AsyncBaseTransport):
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    transports = {"product": Closable(), "coupon": Closable()}
    registry = CollectorRegistry()
    clients = ClientRegistry(
        {name: (f"http://{name}:80", t) for name, t in transports.items()},
        clock=clock,
        registry=registry,
        deadline=0.75,
    )

    assert sorted(clients) == ["coupon", "product"]
    assert clients["coupon"].faults is clients["product"].faults is clients.faults
    assert clients["product"].deadline == 0.75
    exposition = generate_latest(registry).decode()
    for name in transports:
        assert f'estore_circuit_breaker_state{{dependency="{name}"}} 0.0' in exposition
    await clients.aclose()
    assert all(t.closed for t in transports.values())
