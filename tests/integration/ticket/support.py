"""Ticket test support over the real cluster: identities and real orders to open tickets about."""

from __future__ import annotations

import uuid

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role
from tests.callers import ADMIN, as_caller

AGENT = Caller(user_id="agent-1", email="agent@example.com", roles=frozenset({Role.SUPPORT}))


async def place_order(cluster: Cluster, customer: Caller) -> str:
    """A confirmed order of `customer`, through the real checkout."""
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    async with cluster.client("product") as product:
        added = await product.post(
            "/api/v1/products",
            json={
                "sku": sku,
                "name": f"Product {sku}",
                "price": {"amount": 990, "currency": "EUR"},
                "stock": 5,
            },
            headers=as_caller(cluster, ADMIN),
        )
    assert added.status_code == 201, added.text
    async with cluster.client("order") as order:
        placed = await order.post(
            "/api/v1/orders",
            json={
                "items": [{"product_id": added.json()["id"], "quantity": 1}],
                "card_number": "4242424242424242",
                "idempotency_key": uuid.uuid4().hex,
            },
            headers=as_caller(cluster, customer),
        )
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "CONFIRMED"
    order_id: str = placed.json()["id"]
    return order_id
