"""Verify the gateway, served with its subgraphs on loopback, against the storefront's pact."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.harness.provider import CUSTOMER_ID, assert_verified, today_http_sources
from contracts.harness.seeding import checkout, customer, product
from contracts.harness.served import ServedProvider
from contracts.harness.stores import rekey
from contracts.harness.verify import Seed, Verdict, verify_http
from estore.services.auth.models import Registration
from estore.services.category.models import CategoryInput
from estore.services.product.models import ReviewInput

# Everything the gateway composes, plus the payment processor the checkout calls.
PEERS = ("auth", "product", "order", "category", "coupon", "payment")


async def category_under(served: ServedProvider, slug: str, parent_slug: str) -> str:
    """A category `slug` under a top-level `parent_slug`, both named from their slugs."""
    categories = served.service("category")
    parent = await categories.create(CategoryInput(name=parent_slug.title(), slug=parent_slug))
    child = await categories.create(
        CategoryInput(name=slug.title(), slug=slug, parent_id=parent.id)
    )
    return str(child.id)


async def products_in_category(served: ServedProvider, params: dict[str, Any]) -> None:
    category_id = await category_under(served, params["slug"], params["parent_slug"])
    for n in range(params["in_stock"]):
        await product(served.cluster, sku=f"KBD-{n:04d}", stock=5, category_id=category_id)
    await product(served.cluster, sku="KBD-SOLD", stock=0, category_id=category_id)


async def reviewed_product(served: ServedProvider, params: dict[str, Any]) -> None:
    category_id = await category_under(served, "keyboards", "peripherals")
    made = await product(served.cluster, stock=5, category_id=category_id)
    products = served.cluster.infras["product"].db["products"]
    await rekey(products, made, params["product_id"])
    form = Registration(email="grace@example.com", password="correct horse 1", name="Grace")
    reviewer = (await served.service("auth").register(form)).user
    review = ReviewInput(rating=5, title="Lovely", body="Quiet and firm.")
    await served.service("product").add_review(params["product_id"], review, customer(reviewer.id))


async def registered(served: ServedProvider, params: dict[str, Any]) -> None:
    form = Registration(email=params["email"], password=params["password"], name=params["name"])
    await served.service("auth").register(form)


async def in_stock(served: ServedProvider, params: dict[str, Any]) -> None:
    made = await product(served.cluster, stock=5)
    await rekey(served.cluster.infras["product"].db["products"], made, params["product_id"])


async def placed_an_order(served: ServedProvider, params: dict[str, Any]) -> None:
    await checkout(served.cluster, CUSTOMER_ID, await product(served.cluster))


SEEDS: dict[str, Seed] = {
    "three products in stock in the category keyboards under peripherals": products_in_category,
    "a product in keyboards under peripherals was reviewed by Grace": reviewed_product,
    "a customer is registered": registered,
    "a product is in stock": in_stock,
    "the customer has placed an order": placed_an_order,
}


def verify_as_signed_in_customer(
    served: ServedProvider, seeds: dict[str, Seed], sources: list[tuple[str, str]]
) -> list[Verdict]:
    """Replay with a bearer token auth issued for the customer the states seed orders for."""
    token = served.service("auth").issuer.issue_access_token(customer(CUSTOMER_ID))
    return verify_http(served, sources, seeds, {"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def gateway() -> Iterator[ServedProvider]:
    with ServedProvider("gateway", peers=PEERS, loopback=True) as served:
        yield served


def test_gateway_honours_every_pact_its_consumers_wrote(gateway: ServedProvider) -> None:
    verdicts = verify_as_signed_in_customer(gateway, SEEDS, today_http_sources("gateway"))
    assert_verified(verdicts, "gateway")
