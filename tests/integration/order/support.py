"""Checkout test support over the real cluster: identities, seeding, and the four invariants."""

from __future__ import annotations

from typing import Any

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role
from tests.callers import ADMIN, as_caller

GOOD_CARD = "4242424242424242"
DECLINES = ["4000000000009995", "4000000000009979", "4000000000000002", "4000000000000069"]


def customer(n: int | str) -> Caller:
    return Caller(
        user_id=f"customer-{n}", email=f"c{n}@example.com", roles=frozenset({Role.CUSTOMER})
    )


async def add_product(cluster: Cluster, sku: str, price: int, stock: int) -> str:
    async with cluster.client("product") as product:
        response = await product.post(
            "/api/v1/products",
            json={
                "sku": sku,
                "name": f"Product {sku}",
                "price": {"amount": price, "currency": "EUR"},
                "stock": stock,
            },
            headers=as_caller(cluster, ADMIN),
        )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


async def add_coupon(cluster: Cluster, code: str, percent: int, limit: int) -> None:
    async with cluster.client("coupon") as coupon:
        response = await coupon.post(
            "/api/v1/coupons",
            json={"code": code, "kind": "PERCENT", "percent": percent, "max_redemptions": limit},
            headers=as_caller(cluster, ADMIN),
        )
    assert response.status_code == 201, response.text


async def products(cluster: Cluster, ids: list[str]) -> dict[str, dict[str, Any]]:
    async with cluster.client("product") as product:
        response = await product.get("/api/v1/products", params={"ids": ",".join(ids)})
    assert response.status_code == 200, response.text
    return {p["id"]: p for p in response.json()["items"]}


async def coupon_view(cluster: Cluster, code: str) -> dict[str, Any]:
    async with cluster.client("coupon") as coupon:
        response = await coupon.get(f"/api/v1/coupons/{code}", headers=as_caller(cluster, ADMIN))
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def money_held(cluster: Cluster) -> int:
    """Charged minus refunded at the processor (read from its store: it has no list API)."""
    held = 0
    async for charge in cluster.infras["payment"].db["charges"].find({"status": "SUCCEEDED"}):
        held += charge["amount"] - charge.get("refunded", 0)
    return held


async def confirmed_total(cluster: Cluster) -> int:
    total = 0
    async for order in cluster.infras["order"].db["orders"].find({"status": "CONFIRMED"}):
        total += order["total"]["amount"]
    return total


async def units_sold(cluster: Cluster) -> dict[str, int]:
    """Units per product in CONFIRMED orders: what has left stock for good."""
    db = cluster.infras["order"].db
    confirmed = [doc["_id"] async for doc in db["orders"].find({"status": "CONFIRMED"}, {"_id": 1})]
    sold: dict[str, int] = {}
    async for item in db["order_items"].find({"order_id": {"$in": confirmed}}):
        sold[item["product_id"]] = sold.get(item["product_id"], 0) + item["quantity"]
    return sold


async def unfinished_sagas(cluster: Cluster) -> list[dict[str, Any]]:
    query = {"status": {"$in": ["RUNNING", "COMPENSATING"]}}
    return [doc async for doc in cluster.infras["order"].db["sagas"].find(query)]


async def assert_invariants(
    cluster: Cluster, initial: dict[str, int], limits: dict[str, int]
) -> None:
    # `sold` is counted from the orders, not the product's popularity counter (which the
    # order events feed later, through the product's consumer).
    sold = await units_sold(cluster)
    for product_id, p in (await products(cluster, list(initial))).items():
        assert initial[product_id] == p["available"] + p["reserved"] + sold.get(product_id, 0), p
        assert p["reserved"] == 0, f"stock still held once quiet: {p}"
    assert await money_held(cluster) == await confirmed_total(cluster)
    for code, limit in limits.items():
        assert (await coupon_view(cluster, code))["redeemed"] <= limit, code
    assert await unfinished_sagas(cluster) == []
    pending = cluster.infras["order"].db["orders"].find({"status": "PENDING"}, {"_id": 1})
    assert [doc async for doc in pending] == [], "every order ends CONFIRMED, FAILED or CANCELLED"
