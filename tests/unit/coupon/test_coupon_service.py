"""Coupon use cases over mongomock and a fake clock: the redeem and release races."""

from __future__ import annotations

import asyncio

import pytest
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clock import FakeClock
from estore.kit.errors import Forbidden
from estore.kit.identity import Caller, Role
from estore.kit.money import Money
from estore.services.coupon.models import CartItem, CouponInput, DiscountKind, RedeemRequest
from estore.services.coupon.repository import CouponRepository
from estore.services.coupon.service import CouponRejected, CouponService
from estore.services.coupon.settings import CouponSettings

ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))


@pytest.fixture
async def repo() -> CouponRepository:
    repo = CouponRepository(AsyncMongoMockClient(tz_aware=True)["coupon_db"])
    await repo.ensure_indexes()
    return repo


@pytest.fixture
async def service(repo: CouponRepository, clock: FakeClock) -> CouponService:
    service = CouponService(repo, clock, CouponSettings())
    await service.create(
        CouponInput(code="once", kind=DiscountKind.FIXED, amount=500, max_redemptions=1)
    )
    return service


def order(order_id: str, customer: str = "alice") -> RedeemRequest:
    item = CartItem(product_id="p", quantity=1, unit_price=Money(amount=2000, currency="EUR"))
    return RedeemRequest(
        code="ONCE", customer_id=customer, currency="EUR", items=[item], order_id=order_id
    )


async def redeemed(repo: CouponRepository) -> int:
    coupon = await repo.coupon_by_code("ONCE")
    assert coupon is not None
    return coupon.redeemed


async def test_a_release_racing_its_redeem_leaves_nothing_counted(
    service: CouponService, repo: CouponRepository
) -> None:
    results = await asyncio.gather(
        service.redeem(order("o1"), ALICE), service.release("o1", ALICE), return_exceptions=True
    )
    assert await redeemed(repo) in (0, 1)
    final = await repo.redemption("o1")
    assert final is not None
    if final.status == "RELEASED":
        assert await redeemed(repo) == 0, results
    else:
        assert await redeemed(repo) == 1, results


async def test_a_failed_limit_claim_leaves_no_record_so_the_order_may_retry(
    service: CouponService, repo: CouponRepository
) -> None:
    await service.redeem(order("o1"), ALICE)
    with pytest.raises(CouponRejected, match="limit reached"):
        await service.redeem(order("o2"), ALICE)
    assert await repo.redemption("o2") is None
    await service.release("o1", ALICE)
    assert (await service.redeem(order("o2"), ALICE)).order_id == "o2"
    assert await redeemed(repo) == 1


async def test_a_redeem_arriving_after_the_sagas_release_does_not_count(
    service: CouponService, repo: CouponRepository
) -> None:
    # The saga lost the redeem's answer and compensated as the order service; then the
    # original (retried) redeem arrives. The order is released: nothing may count.
    order_service = Caller(user_id="service:order", email="o@e.x", roles=frozenset({Role.ADMIN}))
    assert (await service.release("o1", order_service)).released is False
    with pytest.raises(CouponRejected, match="was released"):
        await service.redeem(order("o1"), ALICE)
    assert await redeemed(repo) == 0


async def test_another_customers_stray_release_does_not_block_the_order(
    service: CouponService, repo: CouponRepository
) -> None:
    mallory = Caller(user_id="mallory", email="m@e.x", roles=frozenset({Role.CUSTOMER}))
    await service.release("o1", mallory)
    assert (await service.redeem(order("o1"), ALICE)).order_id == "o1"
    assert await redeemed(repo) == 1


async def test_customers_cannot_redeem_for_others(service: CouponService) -> None:
    with pytest.raises(Forbidden):
        await service.redeem(order("o1", customer="bob"), ALICE)


async def test_a_welcome_coupon_is_issued_once_per_user(
    service: CouponService, repo: CouponRepository, clock: FakeClock
) -> None:
    first, second = await asyncio.gather(
        service.issue_welcome("u1", clock.now()), service.issue_welcome("u1", clock.now())
    )
    assert sorted([first, second]) == [False, True]
    welcome = await repo.coupon_by_code("WELCOME-U1")
    assert welcome is not None and welcome.customer_id == "u1"
