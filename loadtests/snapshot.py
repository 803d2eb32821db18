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
from estore.services.coupon.models import Coupon
from estore.services.order.models import Order, Saga
from estore.services.order.repository import OrderRepository
from estore.services.payment.models import Charge
from estore.services.product.models import ProductDoc, StockRecord
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


async def _shelf(cluster: Cluster) -> list[ProductDoc]:
    """The product service's own documents, read through its model (a renamed field fails)."""
    return [ProductDoc.model_validate(d) for d in await _docs(cluster, "product", "products")]


async def _stock_changes(cluster: Cluster) -> list[StockRecord]:
    docs = await _docs(cluster, "product", "stock_changes")
    return [StockRecord.model_validate(d) for d in docs]


async def baseline(cluster: Cluster) -> Baseline:
    return Baseline(
        stock={p.id: p.stock for p in await _shelf(cluster)},
        stock_change_ids={c.id for c in await _stock_changes(cluster)},
    )


async def _products(cluster: Cluster, before: Baseline) -> list[ProductState]:
    deltas: dict[str, int] = {}
    for change in await _stock_changes(cluster):
        if change.id not in before.stock_change_ids:
            deltas[change.product_id] = deltas.get(change.product_id, 0) + change.delta
    # Only products on the shelves before the run: one created mid-run has no known opening stock.
    return [
        ProductState(
            id=p.id,
            sku=p.sku,
            stock_before=before.stock[p.id],
            stock=p.stock,
            reserved=p.reserved,
            available=p.available,
            holds=len(p.holds),
            admin_delta=deltas.get(p.id, 0),
        )
        for p in await _shelf(cluster)
        if p.id in before.stock
    ]


async def _orders(cluster: Cluster) -> list[OrderState]:
    if "order" not in cluster.infras:
        return []
    repo = OrderRepository(cluster.infras["order"].db)
    found: dict[str, OrderState] = {}
    for offset in range(0, MAX_DOCS, PAGE):
        page = await repo.page(None, PAGE, offset)
        # Keyed by id: pages are sorted by creation time, and on a real store ties may move
        # an order across a page boundary.
        found.update((o.id, _order_state(o)) for o in page)
        if len(page) < PAGE:
            break
    return list(found.values())


def _order_state(order: Order) -> OrderState:
    return OrderState(
        id=order.id,
        status=order.status.value,
        lines=[
            Line(product_id=i.product_id, quantity=i.quantity, unit_price=i.unit_price.amount)
            for i in order.items
        ],
        subtotal=order.subtotal.amount,
        discount=order.discount.amount,
        total=order.total.amount,
        coupon_code=order.coupon_code,
        payment_id=order.payment_id,
    )


async def snapshot(cluster: Cluster, before: Baseline) -> Snapshot:
    charges = [Charge.model_validate(d) for d in await _docs(cluster, "payment", "charges")]
    coupons = [Coupon.model_validate(d) for d in await _docs(cluster, "coupon", "coupons")]
    sagas = [Saga.model_validate(d) for d in await _docs(cluster, "order", "sagas")]
    return Snapshot(
        products=await _products(cluster, before),
        orders=await _orders(cluster),
        charges=[
            ChargeState(id=c.id, status=c.status.value, amount=c.amount, refunded=c.refunded)
            for c in charges
        ],
        coupons=[
            CouponState(
                code=c.code,
                redeemed=c.redeemed,
                max_redemptions=c.max_redemptions,
                max_per_customer=c.max_per_customer,
                per_customer=c.per_customer,
            )
            for c in coupons
        ],
        sagas=[SagaState(id=s.id, status=s.status.value, order_id=s.order_id) for s in sagas],
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
