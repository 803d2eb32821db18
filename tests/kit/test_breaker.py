"""CircuitBreaker: closed -> open -> half-open -> closed/open, timed by a fake clock."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from estore.kit.breaker import BreakerOpen, BreakerState, CircuitBreaker
from estore.kit.clients import ClientMetrics
from estore.kit.clock import FakeClock

Transition = tuple[str, BreakerState, BreakerState]


def breaker(clock: FakeClock, seen: list[Transition] | None = None, **kw: int) -> CircuitBreaker:
    def record(b: CircuitBreaker, old: BreakerState, new: BreakerState) -> None:
        if seen is not None:
            seen.append((b.name, old, new))

    return CircuitBreaker("product", clock, reset_timeout=10.0, on_state_change=record, **kw)


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        b.on_failure(b.before_call())


def test_breaker_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=3)

    fail(b, 2)
    assert b.state is BreakerState.CLOSED
    fail(b, 1)

    assert b.state is BreakerState.OPEN
    with pytest.raises(BreakerOpen) as refused:
        b.before_call()
    assert refused.value.retry_after == pytest.approx(10.0)


def test_a_success_resets_the_failure_count(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=3)

    fail(b, 2)
    b.on_success(b.before_call())
    fail(b, 2)

    assert b.state is BreakerState.CLOSED


async def test_open_breaker_tells_how_long_until_it_probes_again(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=1)
    fail(b, 1)

    await clock.advance(4.0)

    with pytest.raises(BreakerOpen) as refused:
        b.before_call()
    assert refused.value.retry_after == pytest.approx(6.0)


async def test_after_the_cool_down_one_trial_call_is_let_through(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=1)
    fail(b, 1)

    await clock.advance(10.0)

    assert b.state is BreakerState.HALF_OPEN
    b.before_call()
    with pytest.raises(BreakerOpen):
        b.before_call()


async def test_successful_trial_closes_the_breaker(clock: FakeClock) -> None:
    seen: list[Transition] = []
    b = breaker(clock, seen, failure_threshold=1)
    fail(b, 1)
    await clock.advance(10.0)

    b.on_success(b.before_call())

    assert b.state is BreakerState.CLOSED
    assert [(old, new) for _, old, new in seen] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


async def test_failed_trial_opens_the_breaker_for_another_cool_down(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=1)
    fail(b, 1)
    await clock.advance(10.0)

    fail(b, 1)
    await clock.advance(9.0)

    assert b.state is BreakerState.OPEN
    await clock.advance(1.0)
    assert b.state is BreakerState.HALF_OPEN


async def test_half_open_needs_every_trial_to_succeed(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=1, half_open_max_calls=2)
    fail(b, 1)
    await clock.advance(10.0)

    first, second = b.before_call(), b.before_call()
    with pytest.raises(BreakerOpen):
        b.before_call()
    b.on_success(first)
    assert b.state is BreakerState.HALF_OPEN
    b.on_failure(second)

    assert b.state is BreakerState.OPEN


async def test_outcome_of_a_call_admitted_under_an_earlier_state_is_ignored(
    clock: FakeClock,
) -> None:
    b = breaker(clock, failure_threshold=1)
    slow = b.before_call()
    fail(b, 1)
    await clock.advance(10.0)
    trial = b.before_call()

    b.on_success(slow)  # admitted while closed: it says nothing about the trial
    assert b.state is BreakerState.HALF_OPEN
    b.on_success(trial)
    assert b.state is BreakerState.CLOSED


async def test_abandoned_trial_frees_its_slot(clock: FakeClock) -> None:
    b = breaker(clock, failure_threshold=1)
    fail(b, 1)
    await clock.advance(10.0)

    b.on_abandon(b.before_call())

    b.on_success(b.before_call())
    assert b.state is BreakerState.CLOSED


async def test_reading_the_state_does_not_fire_the_hook(clock: FakeClock) -> None:
    seen: list[Transition] = []
    b = breaker(clock, seen, failure_threshold=1)
    fail(b, 1)
    await clock.advance(10.0)

    assert b.state is BreakerState.HALF_OPEN
    assert len(seen) == 1
    b.before_call()
    assert seen[-1][1:] == (BreakerState.OPEN, BreakerState.HALF_OPEN)


def test_invalid_thresholds_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("product", clock, failure_threshold=0)


async def test_breaker_state_is_visible_in_the_registry_exposition(clock: FakeClock) -> None:
    registry = CollectorRegistry()
    metrics = ClientMetrics(registry)
    product, coupon = breaker(clock, failure_threshold=1), CircuitBreaker("coupon", clock)
    metrics.track(product)
    metrics.track(coupon)

    def exported() -> dict[str, float]:
        text = generate_latest(registry).decode()
        lines = [x for x in text.splitlines() if x.startswith("estore_circuit_breaker_state{")]
        return {x.split('"')[1]: float(x.rsplit(" ", 1)[1]) for x in lines}

    assert exported() == {"product": 0.0, "coupon": 0.0}
    fail(product, 1)
    assert exported() == {"product": 2.0, "coupon": 0.0}
    await clock.advance(10.0)
    assert exported()["product"] == 1.0
