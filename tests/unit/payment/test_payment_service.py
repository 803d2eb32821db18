"""Payment use cases over mongomock and a fake clock: chaos dials, latency, hangs, refunds."""

from __future__ import annotations

import asyncio

import pytest
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clock import FakeClock
from estore.services.payment.chaos import Chaos
from estore.services.payment.models import (
    BehaviourChange,
    ChargeRequest,
    ChargeStatus,
    RefundRequest,
    luhn_valid,
)
from estore.services.payment.repository import PaymentRepository
from estore.services.payment.service import CardDeclined, PaymentService, ProcessorTimeout
from estore.services.payment.settings import PaymentSettings

HANG = 30.0


@pytest.fixture
async def payments(clock: FakeClock) -> PaymentService:
    repo = PaymentRepository(AsyncMongoMockClient(tz_aware=True)["payment_db"])
    await repo.ensure_indexes()
    return PaymentService(repo, clock, PaymentSettings(timeout_hang_seconds=HANG), Chaos())


def request(key: str, amount: int = 1000, card: str = "4242424242424242") -> ChargeRequest:
    return ChargeRequest(
        idempotency_key=key, amount=amount, currency="EUR", card_number=card, customer_id="c1"
    )


async def outcomes(payments: PaymentService, n: int, prefix: str) -> list[str]:
    seen = []
    for i in range(n):
        try:
            await payments.charge(request(f"{prefix}-{i}"))
            seen.append("ok")
        except CardDeclined:
            seen.append("declined")
    return seen


async def settle(task: asyncio.Task[object]) -> None:
    for _ in range(50):
        if task.done():
            return
        await asyncio.sleep(0)


def test_the_luhn_check_accepts_the_test_cards_and_rejects_a_typo() -> None:
    assert luhn_valid("4242424242424242")
    assert luhn_valid("4000000000009995")
    assert not luhn_valid("4242424242424243")


async def test_a_seeded_decline_rate_replays_the_same_outcomes(payments: PaymentService) -> None:
    payments.change_behaviour(BehaviourChange(decline_rate=0.5, seed=42))
    first = await outcomes(payments, 40, "first")
    assert 5 < first.count("declined") < 35
    payments.change_behaviour(BehaviourChange(seed=42))
    assert await outcomes(payments, 40, "again") == first


async def test_a_declined_random_charge_is_recorded_as_declined(
    payments: PaymentService,
) -> None:
    payments.change_behaviour(BehaviourChange(decline_rate=1.0))
    with pytest.raises(CardDeclined):
        await payments.charge(request("k"))
    assert (await payments.charge_by_key("k")).status is ChargeStatus.DECLINED


async def test_latency_is_slept_on_the_injected_clock(
    payments: PaymentService, clock: FakeClock
) -> None:
    payments.change_behaviour(BehaviourChange(latency_ms=1500))
    task = asyncio.create_task(payments.charge(request("slow")))
    await settle(task)
    assert not task.done()
    await clock.advance(1.4)
    assert not task.done()
    await clock.advance(0.1)
    await settle(task)
    view, created = task.result()
    assert created and view.status is ChargeStatus.SUCCEEDED


async def test_a_timeout_records_the_charge_before_hanging(
    payments: PaymentService, clock: FakeClock
) -> None:
    payments.change_behaviour(BehaviourChange(timeout_rate=1.0))
    task = asyncio.create_task(payments.charge(request("ambiguous")))
    await settle(task)
    assert not task.done(), "the caller hears nothing yet"
    recorded = await payments.charge_by_key("ambiguous")
    assert recorded.status is ChargeStatus.SUCCEEDED
    await clock.advance(HANG)
    await settle(task)
    with pytest.raises(ProcessorTimeout):
        task.result()
    replay, created = await payments.charge(request("ambiguous"))
    assert (replay.id, created) == (recorded.id, False), "a retry never charges again"


async def test_a_fresh_start_resets_the_dials(payments: PaymentService) -> None:
    payments.change_behaviour(BehaviourChange(latency_ms=5, timeout_rate=1.0, decline_rate=1.0))
    await payments.reset_behaviour()
    assert payments.behaviour().model_dump() == {
        "latency_ms": 0,
        "timeout_rate": 0.0,
        "decline_rate": 0.0,
        "seed": 0,
    }


async def test_changing_one_dial_keeps_the_others(payments: PaymentService) -> None:
    payments.change_behaviour(BehaviourChange(latency_ms=250, decline_rate=0.2))
    after = payments.change_behaviour(BehaviourChange(timeout_rate=0.1))
    assert (after.latency_ms, after.decline_rate, after.timeout_rate) == (250, 0.2, 0.1)


async def test_concurrent_partial_refunds_never_exceed_the_charge(
    payments: PaymentService,
) -> None:
    charge, _ = await payments.charge(request("big", amount=1000))
    attempts = [
        payments.refund(charge.id, RefundRequest(idempotency_key=f"r{i}", amount=300))
        for i in range(10)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    made = [r for r in results if not isinstance(r, BaseException)]
    assert len(made) == 3
    assert (await payments.charge_by_id(charge.id)).refunded == 900
