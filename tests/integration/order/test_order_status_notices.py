"""Live order-status notices: what the gateway's orderStatusChanged subscription is fed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from estore.cluster import Cluster
from tests.callers import as_caller
from tests.integration.order.support import DECLINES, GOOD_CARD, add_product, customer

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE = customer("alice")


async def place(cluster: Cluster, product_id: str, card: str, key: str) -> dict[str, Any]:
    body = {
        "items": [{"product_id": product_id, "quantity": 1}],
        "card_number": card,
        "idempotency_key": key,
    }
    async with cluster.client("order") as order:
        response = await order.post("/api/v1/orders", json=body, headers=as_caller(cluster, ALICE))
    assert response.status_code == 201, response.text
    placed: dict[str, Any] = response.json()
    return placed


async def test_final_statuses_are_announced_to_live_watchers(fresh: Cluster) -> None:
    product_id = await add_product(fresh, "LAMP-1", price=900, stock=5)
    bus = fresh.infras["gateway"].bus
    async with bus.listen("order:status") as notices:
        confirmed = await place(fresh, product_id, GOOD_CARD, "status-1")
        failed = await place(fresh, product_id, DECLINES[0], "status-2")
        seen = [await asyncio.wait_for(anext(notices), 5) for _ in range(2)]
    by_order = {n.message["order_id"]: n.message for n in seen}
    assert by_order[confirmed["id"]]["status"] == "CONFIRMED"
    assert by_order[failed["id"]]["status"] == "FAILED"
    assert by_order[failed["id"]]["reason"] == failed["failure_reason"]
    assert {n.message["customer_id"] for n in seen} == {ALICE.user_id}
