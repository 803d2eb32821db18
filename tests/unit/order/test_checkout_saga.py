"""The checkout saga against contract fakes: success, every kind of failure, idempotency."""

from __future__ import annotations

import asyncio

import pytest

from estore.kit.clients import BreakerPolicy
from estore.kit.errors import Conflict
from estore.services.order.models import OrderStatus, SagaStatus
from tests.unit.order.world import ALICE, BOB, POOR_CARD, World, checkout

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest.fixture
def world() -> World:
    w = World()
    w.products.add("p1", stock=10, price=1250)
    w.products.add("p2", stock=3, price=500, category="c2")
    w.coupons.add("SAVE10", percent=10, limit=1)
    return w


STOCK = {"p1": 10, "p2": 3}


async def test_checkout_confirms_the_order_at_the_product_services_prices(world: World) -> None:
    service = await world.service()
    order, created = await service.create_order(ALICE, checkout(("p1", 2), ("p2", 1)))
    assert created
    assert order.status is OrderStatus.CONFIRMED
    assert [(i.name, i.unit_price.amount, i.quantity) for i in order.items] == [
        ("Product p1", 1250, 2),
        ("Product p2", 500, 1),
    ]
    assert (order.subtotal.amount, order.discount.amount, order.total.amount) == (3000, 0, 3000)
    assert order.payment_id is not None
    assert world.payments.charged() == 3000
    assert world.products.products["p1"]["sold"] == 2
    assert world.products.products["p1"]["reserved"] == 0
    assert await world.published() == [
        ("order:created", order.id),
        ("order:confirmed", order.id),
    ]
    await world.assert_invariants(STOCK)


async def test_a_coupon_discounts_the_total_and_counts_one_redemption(world: World) -> None:
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 2), coupon="save10"))
    assert order.status is OrderStatus.CONFIRMED
    assert (order.discount.amount, order.total.amount, order.coupon_code) == (250, 2250, "SAVE10")
    assert world.payments.charged() == 2250
    assert world.coupons.count("SAVE10") == 1
    await world.assert_invariants(STOCK)


async def test_checkout_fails_readably_when_stock_is_short_and_charges_nothing(
    world: World,
) -> None:
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p2", 4), coupon="SAVE10"))
    assert order.status is OrderStatus.FAILED
    assert order.failure_reason is not None
    assert "not enough stock" in order.failure_reason
    assert "4 requested, 3 available" in order.failure_reason
    assert world.payments.charges == {}
    assert world.coupons.count("SAVE10") == 0
    await world.assert_invariants(STOCK)


async def test_a_declined_card_releases_the_stock_and_the_coupon(world: World) -> None:
    service = await world.service()
    order, _ = await service.create_order(
        ALICE, checkout(("p1", 1), coupon="SAVE10", card=POOR_CARD)
    )
    assert order.status is OrderStatus.FAILED
    assert order.failure_reason == "your card was declined: insufficient funds"
    assert world.products.available("p1") == 10
    assert world.coupons.count("SAVE10") == 0
    assert await world.published() == []
    await world.assert_invariants(STOCK)


async def test_an_exhausted_coupon_fails_the_order_before_any_charge(world: World) -> None:
    service = await world.service()
    first, _ = await service.create_order(ALICE, checkout(("p1", 1), coupon="SAVE10"))
    second, _ = await service.create_order(BOB, checkout(("p1", 1), coupon="SAVE10"))
    assert first.status is OrderStatus.CONFIRMED
    assert second.status is OrderStatus.FAILED
    assert second.failure_reason == "coupon SAVE10: limit reached"
    assert world.payments.charged() == first.total.amount
    await world.assert_invariants(STOCK)


async def test_a_charge_whose_answer_was_lost_is_found_and_not_repeated(world: World) -> None:
    world.payments.hang_next = 1
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 1)))
    assert order.status is OrderStatus.CONFIRMED
    assert len(world.payments.charges) == 1
    assert world.payments.charged() == 1250
    await world.assert_invariants(STOCK)


async def test_a_charge_that_never_arrived_is_retried_with_the_same_key(world: World) -> None:
    world.faults.inject_timeout("payment", times=1)
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 1)))
    assert order.status is OrderStatus.CONFIRMED
    assert world.faults.injected("payment", "timeout") == 1
    assert world.payments.charged() == 1250
    await world.assert_invariants(STOCK)


async def test_an_unreachable_processor_leaves_the_order_pending_until_it_can_be_checked(
    world: World,
) -> None:
    world.faults.inject_outage("payment")
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 1), coupon="SAVE10"))
    # Whether the card was charged is unknown until the processor answers again.
    assert order.status is OrderStatus.PENDING
    assert world.coupons.count("SAVE10") == 0
    assert world.products.available("p1") == 10
    world.faults.clear()
    world.clock.advance(60)  # past the payment breaker's cool-down
    assert await service.runner.recover() == 1
    after = await service.order(ALICE, order.id)
    assert after.status is OrderStatus.FAILED
    assert after.failure_reason is not None and "refunded" in after.failure_reason
    await world.assert_invariants(STOCK)


async def test_an_expired_reservation_refunds_the_payment(world: World) -> None:
    async def expire_after_charge(point: str) -> None:
        if point == "after:charge":
            for reservation_id in list(world.products.reservations):
                world.products.expire(reservation_id)

    service = await world.service(expire_after_charge)
    order, _ = await service.create_order(ALICE, checkout(("p1", 2), coupon="SAVE10"))
    assert order.status is OrderStatus.FAILED
    assert order.failure_reason == "the stock held for this order expired before payment completed"
    assert world.payments.charged() == 2250
    assert world.payments.refunded() == 2250
    assert world.coupons.count("SAVE10") == 0
    await world.assert_invariants(STOCK)


async def test_retrying_with_the_same_key_returns_the_same_order_and_charges_once(
    world: World,
) -> None:
    service = await world.service()
    first, created = await service.create_order(ALICE, checkout(("p1", 1), key="same-key-1"))
    again, created_again = await service.create_order(ALICE, checkout(("p1", 1), key="same-key-1"))
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert world.payments.charged() == 1250
    # The key is per customer: Bob may use the same string for his own order.
    bobs, _ = await service.create_order(BOB, checkout(("p1", 1), key="same-key-1"))
    assert bobs.id != first.id


async def test_a_key_reused_for_a_different_cart_is_refused(world: World) -> None:
    service = await world.service()
    await service.create_order(ALICE, checkout(("p1", 1), key="same-key-1"))
    with pytest.raises(Conflict, match="already used for a different order"):
        await service.create_order(ALICE, checkout(("p1", 2), key="same-key-1"))


async def test_concurrent_duplicates_make_one_order_and_one_charge(world: World) -> None:
    service = await world.service()
    results = await asyncio.gather(
        *(service.create_order(ALICE, checkout(("p1", 1), key="double-click")) for _ in range(5))
    )
    assert len({order.id for order, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert world.payments.charged() == 1250
    assert len(world.payments.charges) == 1


async def test_undo_that_cannot_reach_a_peer_is_finished_by_the_sweeper(world: World) -> None:
    async def product_down_after_decline(point: str) -> None:
        if point == "after:charge":
            world.faults.inject_outage("product")

    service = await world.service(product_down_after_decline)
    order, _ = await service.create_order(
        ALICE, checkout(("p1", 1), coupon="SAVE10", card=POOR_CARD)
    )
    assert order.status is OrderStatus.PENDING
    saga = await world.repository().saga(order.id)
    assert saga is not None and saga.status is SagaStatus.COMPENSATING
    assert world.coupons.count("SAVE10") == 0, "undo goes on past the step it cannot finish"
    world.faults.clear()
    world.clock.advance(60)  # past the product breaker's cool-down
    assert await service.runner.recover() == 1
    after = await service.order(ALICE, order.id)
    assert after.status is OrderStatus.FAILED
    await world.assert_invariants(STOCK)


async def test_a_charge_refused_by_the_open_breaker_fails_at_once_with_nothing_charged(
    world: World,
) -> None:
    world.faults.inject_outage("payment")
    service = await world.service()
    first, _ = await service.create_order(ALICE, checkout(("p1", 1), key="first-key"))
    assert first.status is OrderStatus.PENDING, "the first failures were ambiguous"
    world.faults.clear()
    # The breaker is open now: the next charge is never sent, so the answer is definite.
    second, _ = await service.create_order(BOB, checkout(("p1", 1), coupon="SAVE10"))
    assert second.status is OrderStatus.FAILED
    assert second.failure_reason == (
        "the payment processor is unavailable; nothing was charged, please try again"
    )
    assert world.coupons.count("SAVE10") == 0
    world.clock.advance(60)
    await service.runner.recover()
    await world.assert_invariants(STOCK)


async def test_a_charge_whose_retry_met_the_breaker_it_tripped_is_treated_as_maybe_taken(
    world: World,
) -> None:
    # The first attempt is charged, its answer lost, and that failure opens the breaker:
    # the retries are refused unsent, but the charge they repeat may well exist.
    world.breaker = BreakerPolicy(failure_threshold=1)
    world.faults.inject_reset("payment", times=1)
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("p1", 1)))
    assert order.status is OrderStatus.PENDING, "whether the card was charged is unknown"
    world.clock.advance(60)  # past the payment breaker's cool-down
    await service.runner.recover()
    after = await service.order(ALICE, order.id)
    assert after.status is OrderStatus.FAILED
    assert world.payments.charged() == world.payments.refunded() == 1250
    await world.assert_invariants(STOCK)


async def test_products_priced_in_another_currency_are_refused_and_released(
    world: World,
) -> None:
    world.products.add("usd", stock=4, price=900)
    world.products.products["usd"]["currency"] = "USD"
    service = await world.service()
    order, _ = await service.create_order(ALICE, checkout(("usd", 1)))
    assert order.status is OrderStatus.FAILED
    assert order.failure_reason == "products priced in ['USD'] cannot be ordered in EUR"
    assert world.products.available("usd") == 4
    await world.assert_invariants({"usd": 4})
