"""The product REST API in the cluster: products, stock, reviews, reservations, aliases."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from estore.services.category.models import CategoryInput
from estore.services.category.service import CategoryService
from tests.callers import ALICE, BOB, as_caller

pytestmark = pytest.mark.asyncio(loop_scope="module")

EUR = "EUR"


async def category(cluster: Cluster, name: str = "Phones") -> str:
    created = await cluster.service("category", CategoryService).create(CategoryInput(name=name))
    return str(created.id)


async def create(
    product: httpx.AsyncClient, admin: dict[str, str], sku: str, stock: int = 5, **extra: Any
) -> dict[str, Any]:
    body = {"sku": sku, "name": f"Item {sku}", "price": {"amount": 1999, "currency": EUR}}
    response = await product.post(
        "/api/v1/products", json={**body, "stock": stock, **extra}, headers=admin
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def figures(product: httpx.AsyncClient, product_id: str) -> tuple[int, int, int]:
    body = (await product.get(f"/api/v1/products/{product_id}")).json()
    return body["stock"], body["reserved"], body["available"]


def reservation(key: str, *lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "reservation_key": key,
        "items": [{"product_id": pid, "quantity": q} for pid, q in lines],
    }


async def test_a_created_product_reads_back_with_its_category_and_figures(
    product: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    phones = await category(fresh)
    created = await create(product, admin, "phn-1", stock=7, category_id=phones)
    read = (await product.get(f"/api/v1/products/{created['id']}")).json()
    assert read["sku"] == "PHN-1"
    assert read["category_id"] == phones
    assert (read["stock"], read["reserved"], read["available"]) == (7, 0, 7)
    assert read["price"] == {"amount": 1999, "currency": EUR}
    assert read["rating"] is None and read["review_count"] == 0


async def test_the_batch_read_leaves_unknown_ids_out(
    product: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    a = await create(product, admin, "A-1")
    b = await create(product, admin, "B-1")
    response = await product.get(f"/api/v1/products?ids={b['id']},nope,{a['id']}")
    assert [p["sku"] for p in response.json()["items"]] == ["B-1", "A-1"]


async def test_unknown_products_are_a_clear_404(product: httpx.AsyncClient) -> None:
    response = await product.get("/api/v1/products/nope")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "no such product: nope"}


async def test_the_unversioned_paths_answer_as_aliases(
    product: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await create(product, admin, "A-1")
    alias = await product.get(f"/api/products/{created['id']}")
    assert alias.status_code == 200
    assert alias.json() == (await product.get(f"/api/v1/products/{created['id']}")).json()


async def test_only_admins_create_products(
    product: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    body = {"sku": "X-1", "name": "X", "price": {"amount": 100, "currency": EUR}}
    assert (await product.post("/api/v1/products", json=body)).status_code == 401
    assert (await product.post("/api/v1/products", json=body, headers=alice)).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": {"amount": -1, "currency": EUR}}, "amount"),
        ({"price": {"amount": 1.5, "currency": EUR}}, "amount"),
        ({"stock": -3}, "stock"),
        ({"sku": "no spaces"}, "sku"),
    ],
)
async def test_bad_product_bodies_say_which_field_is_wrong(
    product: httpx.AsyncClient, admin: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = {"sku": "X-1", "name": "X", "price": {"amount": 100, "currency": EUR}, **change}
    response = await product.post("/api/v1/products", json=body, headers=admin)
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
    assert (await product.get("/api/v1/products?first=5")).json()["items"] == []


async def test_a_reservation_is_created_once_per_key(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    item = await create(product, admin, "A-1", stock=5)
    body = reservation("order-1", (item["id"], 2))
    first = await product.post("/api/v1/reservations", json=body, headers=alice)
    again = await product.post("/api/v1/reservations", json=body, headers=alice)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    held = first.json()
    assert held["status"] == "HELD"
    assert held["items"] == [
        {
            "product_id": item["id"],
            "sku": "A-1",
            "name": "Item A-1",
            "quantity": 2,
            "unit_price": {"amount": 1999, "currency": EUR},
            "category_id": None,
        }
    ]
    assert await figures(product, item["id"]) == (5, 2, 3)


async def test_reservations_need_a_caller(
    product: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    item = await create(product, admin, "A-1")
    response = await product.post("/api/v1/reservations", json=reservation("o", (item["id"], 1)))
    assert response.status_code == 401


async def test_a_short_reservation_is_a_409_with_the_shortage(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    a = await create(product, admin, "A-1", stock=5)
    b = await create(product, admin, "B-1", stock=1)
    body = reservation("order-1", (a["id"], 1), (b["id"], 3))
    response = await product.post("/api/v1/reservations", json=body, headers=alice)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock"
    assert error["details"] == [{"product_id": b["id"], "requested": 3, "available": 1}]
    assert await figures(product, a["id"]) == (5, 0, 5)


@pytest.mark.parametrize(
    ("items", "status"),
    [
        ([{"product_id": "nope", "quantity": 1}], 404),
        ([{"product_id": "{a}", "quantity": -2}], 422),
        ([{"product_id": "{a}", "quantity": 0}], 422),
        ([], 422),
        ([{"product_id": "{a}", "quantity": 1}, {"product_id": "{a}", "quantity": 1}], 422),
    ],
)
async def test_bad_reservations_are_refused_and_nothing_is_held(
    product: httpx.AsyncClient,
    admin: dict[str, str],
    alice: dict[str, str],
    items: list[dict[str, Any]],
    status: int,
) -> None:
    a = await create(product, admin, "A-1", stock=5)
    lines = [{**line, "product_id": line["product_id"].format(a=a["id"])} for line in items]
    body = {"reservation_key": "order-1", "items": lines}
    response = await product.post("/api/v1/reservations", json=body, headers=alice)
    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert await figures(product, a["id"]) == (5, 0, 5)


async def test_confirm_release_and_restock_follow_the_contract(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str], fresh: Cluster
) -> None:
    a = await create(product, admin, "A-1", stock=5)
    body = reservation("order-1", (a["id"], 2))
    held = (await product.post("/api/v1/reservations", json=body, headers=alice)).json()
    path = f"/api/v1/reservations/{held['id']}"
    confirmed = await product.post(f"{path}/confirm", headers=alice)
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "CONFIRMED")
    assert (await product.post(f"{path}/confirm", headers=alice)).status_code == 200
    assert await figures(product, a["id"]) == (3, 0, 3)
    release = await product.post(f"{path}/release", headers=alice)
    assert (release.status_code, release.json()["error"]["code"]) == (409, "reservation_confirmed")

    # A customer's own bearer-less forwarded identity is a service call (the order service
    # cancelling on her behalf); an admin may restock too; the units come back once.
    restocked = await product.post(f"{path}/restock", headers=alice)
    assert (restocked.status_code, restocked.json()["status"]) == (200, "RESTOCKED")
    assert (await product.post(f"{path}/restock", headers=admin)).status_code == 200
    assert await figures(product, a["id"]) == (5, 0, 5)
    assert (await product.get(path, headers=alice)).json()["status"] == "RESTOCKED"


async def test_a_customer_token_alone_cannot_drive_any_checkout_step(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str], fresh: Cluster
) -> None:
    async with fresh.client("auth") as auth:
        registered = await auth.post(
            "/api/v1/auth/register",
            json={"email": "carol@example.com", "password": "long enough 1", "name": "Carol"},
        )
    token = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    a = await create(product, admin, "A-1", stock=5)
    body = reservation("order-1", (a["id"], 5))
    # Straight from a customer: no hold without an order, however the token is used.
    assert (await product.post("/api/v1/reservations", json=body, headers=token)).status_code == 403
    # Through the order service (the signed header), the hold is made; the customer still
    # cannot confirm, release, read or restock it with their own token.
    held = (await product.post("/api/v1/reservations", json=body, headers=alice)).json()
    for step in ("confirm", "release", "restock"):
        path = f"/api/v1/reservations/{held['id']}/{step}"
        assert (await product.post(path, headers=token)).status_code == 403, step
    assert (
        await product.get(f"/api/v1/reservations/{held['id']}", headers=token)
    ).status_code == 403
    assert await figures(product, a["id"]) == (5, 5, 0)


async def test_releasing_gives_units_back_and_a_released_hold_cannot_be_confirmed(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    a = await create(product, admin, "A-1", stock=5)
    body = reservation("order-1", (a["id"], 2))
    held = (await product.post("/api/v1/reservations", json=body, headers=alice)).json()
    path = f"/api/v1/reservations/{held['id']}"
    assert (await product.post(f"{path}/release", headers=alice)).json()["status"] == "RELEASED"
    assert (await product.post(f"{path}/release", headers=alice)).status_code == 200
    confirm = await product.post(f"{path}/confirm", headers=alice)
    assert (confirm.status_code, confirm.json()["error"]["code"]) == (409, "reservation_not_held")
    assert await figures(product, a["id"]) == (5, 0, 5)
    missing = await product.post("/api/v1/reservations/nope/confirm", headers=alice)
    assert missing.status_code == 404


async def test_concurrent_checkouts_for_the_last_units_sell_exactly_those(
    product: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    last, shoppers = 5, 40
    a = await create(product, admin, "A-1", stock=last)
    callers = [as_caller(fresh, ALICE), as_caller(fresh, BOB)]
    responses = await asyncio.gather(
        *(
            product.post(
                "/api/v1/reservations",
                json=reservation(f"order-{n}", (a["id"], 1)),
                headers=callers[n % 2],
            )
            for n in range(shoppers)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * last + [409] * (shoppers - last)
    assert await figures(product, a["id"]) == (5, 5, 0)


async def test_admins_patch_stock_and_cannot_take_reserved_units(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str]
) -> None:
    a = await create(product, admin, "A-1", stock=5)
    await product.post("/api/v1/reservations", json=reservation("o1", (a["id"], 3)), headers=alice)
    path = f"/api/v1/products/{a['id']}/stock"
    restock = await product.patch(path, json={"delta": 10, "reason": "delivery"}, headers=admin)
    assert (restock.status_code, restock.json()["stock"]) == (200, 15)
    too_many = await product.patch(path, json={"delta": -13, "reason": "loss"}, headers=admin)
    assert too_many.status_code == 409
    assert "only 12" in too_many.json()["error"]["message"]
    both = await product.patch(path, json={"delta": 1, "stock": 2, "reason": "x"}, headers=admin)
    assert both.status_code == 422
    customer = await product.patch(path, json={"delta": 1, "reason": "x"}, headers=alice)
    assert customer.status_code == 403
    assert await figures(product, a["id"]) == (15, 3, 12)
    changes = (await product.get(f"{path}/changes", headers=admin)).json()
    assert [(c["delta"], c["reason"]) for c in changes] == [(10, "delivery")]


async def test_reviews_are_one_per_customer_and_update_the_rating(
    product: httpx.AsyncClient, admin: dict[str, str], alice: dict[str, str], fresh: Cluster
) -> None:
    a = await create(product, admin, "A-1")
    path = f"/api/v1/products/{a['id']}/reviews"
    first = await product.post(path, json={"rating": 4, "title": "Good"}, headers=alice)
    assert first.status_code == 201
    again = await product.post(path, json={"rating": 1, "title": "Bad"}, headers=alice)
    assert again.status_code == 409
    bob = as_caller(fresh, BOB)
    assert (
        await product.post(path, json={"rating": 9, "title": "x"}, headers=bob)
    ).status_code == 422
    await product.post(path, json={"rating": 5, "title": "Great"}, headers=bob)
    read = (await product.get(f"/api/v1/products/{a['id']}")).json()
    assert (read["rating"], read["review_count"]) == (4.5, 2)
    assert len((await product.get(path)).json()["items"]) == 2


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("first=500", "between 1 and 100"),
        ("first=0", "between 1 and 100"),
        ("after=garbage", "cursor"),
        ("min_price=9&max_price=1", "min_price"),
        ("category_id=nope", "no such category"),
    ],
)
async def test_bad_listing_parameters_are_a_clear_4xx(
    product: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await product.get(f"/api/v1/products?{query}")
    assert 400 <= response.status_code < 500
    assert message in response.json()["error"]["message"]


async def test_a_confirmed_order_event_counts_sold_units_once(
    product: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    a = await create(product, admin, "A-1", stock=5)
    bus = fresh.infras["product"].bus
    data = {
        "order_id": "order-9",
        "customer_id": "alice",
        "items": [
            {"product_id": a["id"], "quantity": 2, "unit_price": {"amount": 1, "currency": EUR}}
        ],
        "total": {"amount": 2, "currency": EUR},
        "coupon_code": None,
        "confirmed_at": "2026-01-01T00:00:00+00:00",
    }
    await bus.publish("order:confirmed", data)
    await bus.publish("order:confirmed", data)
    await bus.drain()
    read = (await product.get(f"/api/v1/products/{a['id']}")).json()
    assert (read["sold"], read["stock"]) == (2, 5)
