"""A checkout stopped at any point is finished or compensated by the restarted service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from estore.services.order.models import OrderStatus, Saga, SagaKind, SagaStatus
from estore.services.order.saga import STEPS as CHECKOUT_STEPS
from tests.unit.order.world import ALICE, Crash, World, checkout, crash_at

pytestmark = pytest.mark.asyncio(loop_scope="function")

STOCK = {"p1": 10}
STEPS = [step.name for step in CHECKOUT_STEPS]
# Every point where a saga can stop mid-way (after the last step it is already final).
POINTS = [f"{phase}:{step}" for step in STEPS for phase in ("before", "executed", "after")][:-1]
# From the moment the processor took the money the order can be finished; before that the
# card number (never stored) is gone with the process, so the checkout is undone.
FINISHABLE = POINTS[POINTS.index("executed:charge") :]


@pytest.fixture
def world() -> World:
    w = World()
    w.products.add("p1", stock=10, price=1000)
    w.coupons.add("HALF", percent=50, limit=5)
    return w


async def crash_then_restart(world: World, point: str, coupon: str | None) -> str:
    crashing = await world.service(crash_at(point))
    with pytest.raises(Crash):
        await crashing.create_order(ALICE, checkout(("p1", 2), coupon=coupon))
    [saga_id] = await world.unfinished_sagas()
    restarted = await world.service()
    assert await restarted.recover() == 1
    return saga_id


@pytest.mark.parametrize("coupon", [None, "HALF"])
@pytest.mark.parametrize("point", POINTS)
async def test_a_checkout_stopped_at_any_point_ends_final_after_restart(
    world: World, point: str, coupon: str | None
) -> None:
    order_id = await crash_then_restart(world, point, coupon)
    order = await (await world.service()).order(ALICE, order_id)
    expected = 1000 if coupon else 2000
    if point in FINISHABLE:
        assert order.status is OrderStatus.CONFIRMED
        assert order.total.amount == expected
        assert world.payments.charged() == expected
        assert set(await world.published()) == {
            ("order:created", order_id),
            ("order:confirmed", order_id),
        }
    else:
        assert order.status is OrderStatus.FAILED
        assert order.failure_reason == (
            "the checkout was interrupted before payment; nothing was charged"
        )
        assert world.coupons.count("HALF") == 0
        assert await world.published() == []
    await world.assert_invariants(STOCK)


@pytest.mark.parametrize("point", ["undone:refund", "undone:release_coupon"])
async def test_compensation_stopped_half_way_is_completed_after_restart(
    world: World, point: str
) -> None:
    async def expire_then_crash(reached: str) -> None:
        if reached == "after:charge":
            for reservation_id in list(world.products.reservations):
                world.products.expire(reservation_id)
        if reached == point:
            raise Crash(point)

    crashing = await world.service(expire_then_crash)
    with pytest.raises(Crash):
        await crashing.create_order(ALICE, checkout(("p1", 2), coupon="HALF"))
    restarted = await world.service()
    assert await restarted.recover() == 1
    [order] = await restarted.orders(ALICE)
    assert order.status is OrderStatus.FAILED
    assert world.payments.refunded() == world.payments.charged() == 1000
    await world.assert_invariants(STOCK)


async def test_a_saga_whose_order_was_never_written_is_closed_on_restart(world: World) -> None:
    service = await world.service()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await world.repository().add_saga(
        Saga(
            _id="orphan",
            kind=SagaKind.CHECKOUT,
            order_id="orphan",
            caller=ALICE.model_dump(mode="json"),
            lines=checkout(("p1", 1)).items,
            currency="EUR",
            created_at=now,
            updated_at=now,
        )
    )
    assert await service.recover() == 1
    saga = await world.repository().saga("orphan")
    assert saga is not None and saga.status is SagaStatus.COMPENSATED
    assert world.products.reservations == {}
    await world.assert_invariants(STOCK)


async def test_a_live_saga_is_not_taken_over_by_another_instances_sweeper(world: World) -> None:
    crashing = await world.service(crash_at("after:reserve"))
    with pytest.raises(Crash):
        await crashing.create_order(ALICE, checkout(("p1", 1)))
    other = await world.service(instance="order-b")
    assert await other.runner.recover() == 0, "the lease is still live"
    world.clock.advance(world.settings.saga_lease_seconds + 1)
    assert await other.runner.recover() == 1
    await world.assert_invariants(STOCK)


async def test_a_charge_still_on_its_way_when_recovery_decides_is_refused_not_taken(
    world: World,
) -> None:
    # Every charge attempt's connection drops at once and its request lands a second later,
    # as a dead process's charge does: recovery must close the key, or money is taken for an
    # order it has just failed.
    world.faults.inject_late("payment", 1.0)
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 1)))
    assert order.status is OrderStatus.PENDING, "whether the card was charged is unknown"
    world.faults.clear()
    world.clock.advance(60)  # the lease lapses and the payment breaker cools down

    await service.runner.recover()
    await world.faults.delivered()

    after = await service.order(ALICE, order.id)
    assert after.status is OrderStatus.FAILED
    assert world.payments.refused_as_voided >= 1, "the late charges did arrive"
    assert world.payments.charged() == 0
    await world.assert_invariants({"p1": 10})
