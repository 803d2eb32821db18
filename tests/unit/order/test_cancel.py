"""Cancelling an order: who may, until when, and what it gives back."""

from __future__ import annotations

import pytest

from estore.kit.errors import Conflict, Forbidden, NotFound, Unavailable
from estore.services.order.models import Order, OrderStatus
from estore.services.order.service import OrderService
from tests.unit.order.world import ADMIN, ALICE, BOB, POOR_CARD, SUPPORT, World, checkout

pytestmark = pytest.mark.asyncio(loop_scope="function")

STOCK = {"p1": 10}


@pytest.fixture
def world() -> World:
    w = World()
    w.products.add("p1", stock=10, price=1000)
    w.coupons.add("HALF", percent=50, limit=1)
    return w


async def confirmed(world: World) -> tuple[OrderService, Order]:
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 3), coupon="HALF"))
    assert order.status is OrderStatus.CONFIRMED
    return service, order


async def test_the_customer_cancels_within_the_window_and_gets_everything_back(
    world: World,
) -> None:
    service, order = await confirmed(world)
    cancelled = await service.cancel(ALICE, order.id, "changed my mind")
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.cancel_reason == "changed my mind"
    assert world.payments.refunded() == world.payments.charged() == 1500
    assert world.products.products["p1"]["stock"] == 10
    assert world.products.products["p1"]["sold"] == 0
    assert world.coupons.count("HALF") == 0
    assert ("order:cancelled", order.id) in await world.published()
    await world.assert_invariants(STOCK)


async def test_cancelling_twice_changes_nothing_more(world: World) -> None:
    service, order = await confirmed(world)
    await service.cancel(ALICE, order.id)
    again = await service.cancel(ALICE, order.id)
    assert again.status is OrderStatus.CANCELLED
    assert len(world.payments.refunds) == 1
    assert world.products.products["p1"]["stock"] == 10


async def test_after_the_window_only_an_admin_may_cancel(world: World) -> None:
    service, order = await confirmed(world)
    world.clock.advance(world.settings.cancel_window_seconds + 1)
    with pytest.raises(Forbidden, match="within 10 minutes"):
        await service.cancel(ALICE, order.id)
    cancelled = await service.cancel(ADMIN, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.cancel_reason == "cancelled by an admin"


async def test_support_may_read_but_not_cancel_and_others_see_nothing(world: World) -> None:
    service, order = await confirmed(world)
    assert (await service.order(SUPPORT, order.id)).id == order.id
    with pytest.raises(Forbidden):
        await service.cancel(SUPPORT, order.id)
    with pytest.raises(NotFound):
        await service.cancel(BOB, order.id)
    with pytest.raises(NotFound):
        await service.order(BOB, order.id)


async def test_a_failed_order_cannot_be_cancelled(world: World) -> None:
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 1), card=POOR_CARD))
    with pytest.raises(Conflict, match="nothing to cancel"):
        await service.cancel(ALICE, order.id)


async def test_a_cancellation_the_processor_cannot_hear_finishes_later(world: World) -> None:
    service, order = await confirmed(world)
    world.faults.inject_outage("payment")
    with pytest.raises(Unavailable, match="under way"):
        await service.cancel(ALICE, order.id)
    assert (await service.order(ALICE, order.id)).status is OrderStatus.CONFIRMED
    world.faults.clear()
    world.clock.advance(60)
    restarted = await world.service()
    assert await restarted.recover() == 1
    assert (await restarted.order(ALICE, order.id)).status is OrderStatus.CANCELLED
    await world.assert_invariants(STOCK)


async def test_customers_list_their_own_orders_and_staff_list_all(world: World) -> None:
    service, order = await confirmed(world)
    bobs, _ = await service.create_order(BOB, checkout(("p1", 1), key="bob-key-1"))
    assert [o.id for o in await service.orders(ALICE)] == [order.id]
    assert {o.id for o in await service.orders(SUPPORT)} == {order.id, bobs.id}
    assert await service.orders_of(BOB, ALICE.user_id) == []
    assert [o.id for o in await service.orders_of(ADMIN, ALICE.user_id)] == [order.id]
