"""Reads the served cluster's stores into an invariants `Snapshot`, inside the serving process.

The stores are in-memory fakes that only the serving process can see, so the check runs
there; the services' own documents are read, never changed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from estore.cluster import Cluster
from estore.services.order.repository import OrderRepository
from loadtests.invariants import (
    FINAL_SAGAS,
    ChargeState,
    CouponState,
    Line,
    OrderState,
    ProductState,
    SagaState,
    Snapshot,
)

PAGE = 500
MAX_DOCS = 2_000_000


@dataclass
class Baseline:
    """The stock on the shelves, and the admin changes already made, before the run."""

    stock: dict[str, int] = field(default_factory=dict)
    stock_change_ids: set[str] = field(default_factory=set)


async def _docs(cluster: Cluster, service: str, collection: str) -> list[dict[str, Any]]:
    if service not in cluster.infras:
        return []
    cursor = cluster.infras[service].db[collection].find({})
    docs: list[dict[str, Any]] = await cursor.to_list(MAX_DOCS)
    return docs


async def baseline(cluster: Cluster) -> Baseline:
    products = await _docs(cluster, "product", "products")
    changes = await _docs(cluster, "product", "stock_changes")
    return Baseline(
        stock={p["_id"]: int(p["stock"]) for p in products},
        stock_change_ids={c["_id"] for c in changes},
    )


async def _products(cluster: Cluster, before: Baseline) -> list[ProductState]:
    deltas: dict[str, int] = {}
    for change in await _docs(cluster, "product", "stock_changes"):
        if change["_id"] not in before.stock_change_ids:
            deltas[change["product_id"]] = deltas.get(change["product_id"], 0) + change["delta"]
    # Only products on the shelves before the run: one created mid-run has no known opening stock.
    return [
        ProductState(
            id=p["_id"],
            sku=p.get("sku", ""),
            stock_before=before.stock[p["_id"]],
            stock=int(p["stock"]),
            reserved=int(p.get("reserved", 0)),
            admin_delta=deltas.get(p["_id"], 0),
        )
        for p in await _docs(cluster, "product", "products")
        if p["_id"] in before.stock
    ]


async def _orders(cluster: Cluster) -> list[OrderState]:
    if "order" not in cluster.infras:
        return []
    repo = OrderRepository(cluster.infras["order"].db)
    found: list[OrderState] = []
    for offset in range(0, MAX_DOCS, PAGE):
        page = await repo.page(None, PAGE, offset)
        found += [
            OrderState(
                id=o.id,
                status=o.status.value,
                lines=[
                    Line(
                        product_id=i.product_id, quantity=i.quantity, unit_price=i.unit_price.amount
                    )
                    for i in o.items
                ],
                subtotal=o.subtotal.amount,
                discount=o.discount.amount,
                total=o.total.amount,
                coupon_code=o.coupon_code,
                payment_id=o.payment_id,
            )
            for o in page
        ]
        if len(page) < PAGE:
            break
    return found


async def snapshot(cluster: Cluster, before: Baseline) -> Snapshot:
    charges = await _docs(cluster, "payment", "charges")
    coupons = await _docs(cluster, "coupon", "coupons")
    sagas = await _docs(cluster, "order", "sagas")
    return Snapshot(
        products=await _products(cluster, before),
        orders=await _orders(cluster),
        charges=[
            ChargeState(
                id=c["_id"], status=c["status"], amount=c["amount"], refunded=c.get("refunded", 0)
            )
            for c in charges
        ],
        coupons=[
            CouponState(
                code=c["code"],
                redeemed=c.get("redeemed", 0),
                max_redemptions=c.get("max_redemptions"),
                max_per_customer=c.get("max_per_customer"),
                per_customer=c.get("per_customer", {}),
            )
            for c in coupons
        ],
        sagas=[SagaState(id=s["_id"], status=s["status"], order_id=s["order_id"]) for s in sagas],
    )


async def settle(cluster: Cluster, timeout_s: float = 15.0, poll_s: float = 0.2) -> bool:
    """Wait (bounded) until no saga is in flight, as recovery would finish them; True if so."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sagas = await _docs(cluster, "order", "sagas")
        if all(s["status"] in FINAL_SAGAS for s in sagas):
            return True
        await asyncio.sleep(poll_s)
    return False
