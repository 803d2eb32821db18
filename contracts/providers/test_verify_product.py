"""Verify the product service against the order service's pact (reservations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.harness.provider import assert_verified, today_http_sources, verify_as_customer
from contracts.harness.served import ServedProvider
from contracts.harness.stores import rekey
from contracts.harness.verify import Seed
from estore.kit.money import Money
from estore.services.product.models import ProductInput, ReservationRequest


async def in_stock(served: ServedProvider, params: dict[str, Any]) -> None:
    form = ProductInput(
        sku="KBD-0001",
        name="Keyboard",
        price=Money(amount=2500, currency="EUR"),
        stock=params.get("stock", 10),
    )
    product = await served.service().create(form)
    await rekey(served.cluster.infras["product"].db["products"], product.id, params["product_id"])


async def held(served: ServedProvider, params: dict[str, Any]) -> None:
    await in_stock(served, params)
    request = ReservationRequest(
        reservation_key=params["key"],
        items=[{"product_id": params["product_id"], "quantity": 2}],
    )
    made, _ = await served.service().reservations.reserve(request)
    reservations = served.cluster.infras["product"].db["reservations"]
    await rekey(reservations, made.id, params["reservation_id"])


async def released(served: ServedProvider, params: dict[str, Any]) -> None:
    await held(served, params)
    await served.service().reservations.release(params["reservation_id"])


async def confirmed(served: ServedProvider, params: dict[str, Any]) -> None:
    await held(served, params)
    await served.service().reservations.confirm(params["reservation_id"])


SEEDS: dict[str, Seed] = {
    "a product is in stock": in_stock,
    "a reservation is held": held,
    "a reservation was released": released,
    "a reservation was confirmed": confirmed,
}


@pytest.fixture(scope="module")
def product() -> Iterator[ServedProvider]:
    with ServedProvider("product") as served:
        yield served


def test_product_honours_every_pact_its_consumers_wrote(product: ServedProvider) -> None:
    verdicts = verify_as_customer(product, SEEDS, today_http_sources("product"))
    assert_verified(verdicts, "product")
