"""Provider-state building blocks: products, checkouts and cancellations through the use cases.

States create data the way a customer would (the product service's create, the order
service's checkout saga through the real product, coupon and payment apps), so a state
can never hold a document the services themselves would not write.
"""

from __future__ import annotations

from typing import Any

from contracts.harness.stores import rekey_order
from estore.kit.identity import Caller, Role
from estore.kit.money import Money
from estore.services.order.models import CheckoutRequest, Order
from estore.services.order.service import OrderService
from estore.services.product.models import ProductInput
from estore.services.product.service import ProductService

# The card the payment processor always accepts.
GOOD_CARD = "4242424242424242"
# What a checkout needs besides the order service itself.
CHECKOUT_PEERS = ("product", "coupon", "payment")


def customer(user_id: str, *roles: Role) -> Caller:
    return Caller(
        user_id=user_id,
        email=f"{user_id}@example.com",
        roles=frozenset(roles or {Role.CUSTOMER}),
    )


async def product(
    cluster: Any,
    *,
    sku: str = "KBD-0001",
    name: str = "Keyboard",
    amount: int = 2500,
    stock: int = 10,
    category_id: str | None = None,
) -> str:
    """A product created through the product service; returns its id."""
    form = ProductInput(
        sku=sku,
        name=name,
        price=Money(amount=amount, currency="EUR"),
        stock=stock,
        category_id=category_id,
    )
    made = await cluster.service("product", ProductService).create(form)
    return str(made.id)


async def checkout(
    cluster: Any, customer_id: str, product_id: str, quantity: int = 2, key: str = "checkout-0001"
) -> Order:
    """A confirmed order of `customer_id`, made by the real checkout saga."""
    request = CheckoutRequest(
        items=[{"product_id": product_id, "quantity": quantity}],
        card_number=GOOD_CARD,
        idempotency_key=key,
    )
    service = cluster.service("order", OrderService)
    order, _ = await service.create_order(customer(customer_id), request)
    assert order.status.value == "CONFIRMED", f"the seeded checkout failed: {order}"
    return order


async def order_with_id(cluster: Any, customer_id: str, order_id: str) -> Order:
    """A confirmed order of `customer_id` under the id a pact names."""
    made = await checkout(cluster, customer_id, await product(cluster))
    await rekey_order(cluster.infras["order"].db, made.id, order_id)
    found = await cluster.service("order", OrderService).order(customer(customer_id), order_id)
    assert isinstance(found, Order)
    return found
