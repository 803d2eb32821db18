"""Reservation use cases: all or nothing, idempotent keys, confirm, release, restock, the race."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from estore.kit.clock import FakeClock
from estore.kit.errors import Conflict, NotFound, Unprocessable
from estore.services.product.models import (
    MAX_RESERVATION_TTL_SECONDS,
    ReservationLine,
    ReservationRequest,
    ReservationStatus,
)
from estore.services.product.repository import ProductRepository
from estore.services.product.reservations import (
    OutOfStock,
    ReservationConfirmed,
    ReservationNotHeld,
)
from estore.services.product.service import ProductService
from estore.services.product.settings import ProductSettings
from tests.unit.product.conftest import FakeCategories, make

S = ReservationStatus


def request(key: str, *lines: tuple[str, int], ttl: int | None = None) -> ReservationRequest:
    items = [ReservationLine(product_id=pid, quantity=q) for pid, q in lines]
    return ReservationRequest(reservation_key=key, items=items, ttl_seconds=ttl)


async def figures(service: ProductService, product_id: str) -> tuple[int, int, int]:
    product = await service.product(product_id)
    return product.stock, product.reserved, product.available


async def test_a_reservation_holds_every_line_and_snapshots_the_price(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5, price=49900)
    case = await make(products, "CAS-1", stock=3, price=1500)
    held, created = await products.reservations.reserve(
        request("order-1", (phone.id, 2), (case.id, 1))
    )
    assert created and held.status is S.HELD
    assert [(i.sku, i.quantity, i.unit_price.amount) for i in held.items] == [
        ("PHN-1", 2, 49900),
        ("CAS-1", 1, 1500),
    ]
    assert await figures(products, phone.id) == (5, 2, 3)
    assert await figures(products, case.id) == (3, 1, 2)


async def test_a_short_line_rolls_back_the_lines_already_held(products: ProductService) -> None:
    phone = await make(products, "PHN-1", stock=5)
    case = await make(products, "CAS-1", stock=1)
    with pytest.raises(OutOfStock) as refused:
        await products.reservations.reserve(request("order-1", (phone.id, 2), (case.id, 2)))
    assert refused.value.details == [{"product_id": case.id, "requested": 2, "available": 1}]
    assert await figures(products, phone.id) == (5, 0, 5)
    assert await figures(products, case.id) == (1, 0, 1)
    # Nothing was recorded under the key, so the same order may try again once stock is back.
    retried, created = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    assert created and retried.status is S.HELD


async def test_the_same_key_returns_the_same_reservation_without_a_second_hold(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    first, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    again, created = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    assert not created
    assert again.id == first.id
    assert await figures(products, phone.id) == (5, 2, 3)


async def test_an_unknown_product_is_refused_and_nothing_is_held(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    with pytest.raises(NotFound) as refused:
        await products.reservations.reserve(request("order-1", (phone.id, 1), ("nope", 1)))
    assert refused.value.details == [{"product_id": "nope"}]
    assert await figures(products, phone.id) == (5, 0, 5)


def test_a_time_to_live_beyond_a_day_is_refused_as_the_schema_says() -> None:
    with pytest.raises(ValidationError, match="ttl_seconds"):
        request("order-1", ("any", 1), ttl=MAX_RESERVATION_TTL_SECONDS + 1)


async def test_a_time_to_live_beyond_the_configured_maximum_is_refused(
    repo: ProductRepository, clock: FakeClock
) -> None:
    settings = ProductSettings(sweep_interval_seconds=0, reservation_max_ttl_seconds=3600)
    service = ProductService(repo, FakeCategories(), clock, settings)
    phone = await make(service, "PHN-1")
    with pytest.raises(Unprocessable, match="at most 3600"):
        await service.reservations.reserve(request("order-1", (phone.id, 1), ttl=3601))


async def test_confirm_takes_the_units_for_good_once(products: ProductService) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    confirmed = await products.reservations.confirm(held.id)
    again = await products.reservations.confirm(held.id)
    assert confirmed.status is again.status is S.CONFIRMED
    assert await figures(products, phone.id) == (3, 0, 3)
    with pytest.raises(ReservationConfirmed):
        await products.reservations.release(held.id)


async def test_release_gives_the_units_back_once(products: ProductService) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    assert (await products.reservations.release(held.id)).status is S.RELEASED
    assert (await products.reservations.release(held.id)).status is S.RELEASED
    assert await figures(products, phone.id) == (5, 0, 5)
    with pytest.raises(ReservationNotHeld):
        await products.reservations.confirm(held.id)


async def test_restock_returns_a_confirmed_reservation_to_stock_once(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    await products.reservations.confirm(held.id)
    assert (await products.reservations.restock(held.id)).status is S.RESTOCKED
    assert (await products.reservations.restock(held.id)).status is S.RESTOCKED
    assert await figures(products, phone.id) == (5, 0, 5)


async def test_a_late_second_put_back_after_settling_returns_nothing_more(
    products: ProductService, repo: ProductRepository
) -> None:
    # A retry or the sweeper may have read the reservation before it was settled and try to
    # put the units back after it: the product's marker must still stop it.
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    await products.reservations.confirm(held.id)
    await products.reservations.restock(held.id)
    assert not await repo.put_back(phone.id, held.id, 2)
    assert await figures(products, phone.id) == (5, 0, 5)


async def test_only_a_confirmed_reservation_can_be_restocked(products: ProductService) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    with pytest.raises(Conflict):
        await products.reservations.restock(held.id)
    assert await figures(products, phone.id) == (5, 2, 3)


async def test_many_racing_for_the_last_units_exactly_that_many_win(
    products: ProductService,
) -> None:
    last_units, racers = 7, 60
    phone = await make(products, "PHN-1", stock=last_units)
    results = await asyncio.gather(
        *(
            products.reservations.reserve(request(f"order-{n}", (phone.id, 1)))
            for n in range(racers)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, tuple)]
    lost = [r for r in results if isinstance(r, OutOfStock)]
    assert (len(won), len(lost)) == (last_units, racers - last_units)
    assert await figures(products, phone.id) == (7, 7, 0)
    for reservation, _ in won[:3]:
        await products.reservations.confirm(reservation.id)
    for reservation, _ in won[3:]:
        await products.reservations.release(reservation.id)
    assert await figures(products, phone.id) == (4, 0, 4)


async def test_racing_baskets_of_two_products_never_leak_a_hold(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=10)
    case = await make(products, "CAS-1", stock=4)
    results = await asyncio.gather(
        *(
            products.reservations.reserve(request(f"order-{n}", (phone.id, 1), (case.id, 1)))
            for n in range(40)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, tuple) for r in results) == 4
    assert all(isinstance(r, tuple | OutOfStock) for r in results)
    assert await figures(products, phone.id) == (10, 4, 6)
    assert await figures(products, case.id) == (4, 4, 0)


async def test_the_sweeper_expires_holds_past_their_time(
    products: ProductService, clock: FakeClock
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2), ttl=60))
    await clock.advance(59)
    assert await products.reservations.sweep_once() == 0
    await clock.advance(2)
    assert await products.reservations.sweep_once() == 1
    assert (await products.reservations.get(held.id)).status is S.EXPIRED
    assert await figures(products, phone.id) == (5, 0, 5)
    with pytest.raises(ReservationNotHeld):
        await products.reservations.confirm(held.id)


async def test_a_hold_past_its_time_cannot_be_confirmed_before_the_sweeper_comes(
    products: ProductService, clock: FakeClock
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2), ttl=60))
    await clock.advance(61)
    with pytest.raises(ReservationNotHeld):
        await products.reservations.confirm(held.id)
    assert await figures(products, phone.id) == (5, 0, 5)


async def test_the_sweeper_finishes_a_release_a_crash_interrupted(
    products: ProductService, repo: ProductRepository, clock: FakeClock
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    held, _ = await products.reservations.reserve(request("order-1", (phone.id, 2)))
    # The status changed and then the process died before the stock moved back.
    await repo.move_reservation(held.id, S.HELD, S.RELEASED, clock.now(), settled=False)
    assert await figures(products, phone.id) == (5, 2, 3)
    await clock.advance(10)
    assert await products.reservations.sweep_once() == 0, "still within the grace period"
    await clock.advance(30)
    assert await products.reservations.sweep_once() == 1
    assert await figures(products, phone.id) == (5, 0, 5)
    assert await products.reservations.sweep_once() == 0


async def test_the_background_sweeper_runs_on_the_injected_clock(
    repo: ProductRepository, clock: FakeClock
) -> None:
    await repo.ensure_indexes()
    settings = ProductSettings(sweep_interval_seconds=5)
    service = ProductService(repo, FakeCategories(), clock, settings)
    phone = await make(service, "PHN-1", stock=5)
    held, _ = await service.reservations.reserve(request("order-1", (phone.id, 2), ttl=60))
    await service.reservations.start_sweeper()
    try:
        await clock.advance(59)
        await settle()
        assert (await service.reservations.get(held.id)).status is S.HELD
        await clock.advance(6)
        await settle()
        assert (await service.reservations.get(held.id)).status is S.EXPIRED
        assert await figures(service, phone.id) == (5, 0, 5)
    finally:
        await service.reservations.stop_sweeper()


async def settle() -> None:
    """Let the sweeper task finish the round the clock just woke it for."""
    for _ in range(200):
        await asyncio.sleep(0)
