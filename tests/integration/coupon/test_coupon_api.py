"""The coupon service in the in-process cluster: quote, redeem, release, admin, identity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role
from estore.services.auth.service import AuthService

pytestmark = pytest.mark.asyncio(loop_scope="module")


def signed(cluster: Cluster, user_id: str = "alice", *roles: Role) -> dict[str, str]:
    caller = Caller(
        user_id=user_id, email=f"{user_id}@example.com", roles=frozenset(roles or {Role.CUSTOMER})
    )
    return cluster.caller_headers(caller)


@pytest.fixture
async def coupons(fresh: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh.client("coupon", headers=signed(fresh)) as client:
        yield client


@pytest.fixture
def admin(fresh: Cluster) -> dict[str, str]:
    return signed(fresh, "root", Role.ADMIN)


def item(price: int, quantity: int = 1, category: str | None = "books") -> dict[str, Any]:
    return {
        "product_id": f"p-{price}",
        "category_id": category,
        "quantity": quantity,
        "unit_price": {"amount": price, "currency": "EUR"},
    }


def cart(code: str = "SAVE10", customer: str = "alice", **changes: Any) -> dict[str, Any]:
    body = {"code": code, "customer_id": customer, "currency": "EUR", "items": [item(5000)]}
    return {**body, **changes}


async def create(
    coupons: httpx.AsyncClient, admin: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"code": "save10", "kind": "PERCENT", "percent": 10, **fields}
    response = await coupons.post("/api/v1/coupons", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def quote(coupons: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await coupons.post("/api/v1/coupons/quote", json=cart(**changes))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def redeem(coupons: httpx.AsyncClient, order: str, **changes: Any) -> httpx.Response:
    return await coupons.post("/api/v1/coupons/redeem", json={**cart(**changes), "order_id": order})


async def stored(cluster: Cluster, code: str = "SAVE10") -> dict[str, Any]:
    doc: dict[str, Any] = await cluster.infras["coupon"].db["coupons"].find_one({"code": code})
    return doc


async def test_a_percent_coupon_quotes_its_discount_whatever_the_code_case(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin)
    body = await quote(coupons, code=" Save10 ", items=[item(1999, 3)])
    assert body == {
        "code": "SAVE10",
        "valid": True,
        "discount": {"amount": 599, "currency": "EUR"},
        "reason": None,
    }


async def test_a_fixed_coupon_never_discounts_more_than_the_cart(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin, kind="FIXED", percent=None, amount=1500)
    assert (await quote(coupons))["discount"]["amount"] == 1500
    assert (await quote(coupons, items=[item(900)]))["discount"]["amount"] == 900


async def test_codes_are_unique_whatever_their_case(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin)
    again = await coupons.post(
        "/api/v1/coupons", json={"code": "SAVE10", "kind": "PERCENT", "percent": 5}, headers=admin
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("fields", "changes", "reason"),
    [
        ({}, {"code": "NOPE"}, "unknown coupon code"),
        ({"min_subtotal": 6000}, {}, "minimum subtotal of 60.00 EUR not met"),
        ({"eligible_categories": ["toys"]}, {}, "not eligible for these categories"),
        ({"customer_id": "bob"}, {}, "unknown coupon code"),
        ({"valid_from": "2999-01-01T00:00:00Z"}, {}, "coupon is not yet valid"),
        (
            {"valid_from": "2000-01-01T00:00:00Z", "valid_until": "2001-01-01T00:00:00Z"},
            {},
            "coupon has expired",
        ),
        (
            {"kind": "FIXED", "percent": None, "amount": 500, "currency": "USD"},
            {},
            "coupon is only for USD carts",
        ),
    ],
)
async def test_a_coupon_that_does_not_apply_quotes_why(
    coupons: httpx.AsyncClient,
    admin: dict[str, str],
    fields: dict[str, Any],
    changes: dict[str, Any],
    reason: str,
) -> None:
    await create(coupons, admin, **fields)
    body = await quote(coupons, **changes)
    assert (body["valid"], body["reason"]) == (False, reason)
    assert body["discount"] == {"amount": 0, "currency": "EUR"}


async def test_only_eligible_categories_are_discounted(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin, percent=50, eligible_categories=["books"])
    body = await quote(coupons, items=[item(1000, category="books"), item(4000, category="toys")])
    assert body["discount"]["amount"] == 500


async def test_a_deactivated_coupon_is_refused(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin)
    off = await coupons.post("/api/v1/coupons/save10/deactivate", headers=admin)
    assert off.status_code == 200
    assert off.json()["active"] is False
    assert (await quote(coupons))["reason"] == "coupon is inactive"
    refused = await redeem(coupons, "o1")
    assert refused.status_code == 409
    assert refused.json()["error"] == {"code": "coupon_rejected", "message": "coupon is inactive"}


async def test_redeeming_counts_once_per_order(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    first = await redeem(coupons, "order-1")
    assert first.status_code == 200
    body = first.json()
    assert (body["code"], body["order_id"], body["discount"]["amount"]) == (
        "SAVE10",
        "order-1",
        500,
    )
    again = await redeem(coupons, "order-1")
    assert again.json() == body
    assert (await stored(fresh))["redeemed"] == 1


async def test_a_customer_token_alone_cannot_redeem_or_release(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    token = fresh.service("auth", AuthService).issuer.issue_access_token(
        Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
    )
    async with fresh.client("coupon") as direct:
        bearer = {"Authorization": f"Bearer {token}"}
        body = {**cart(), "order_id": "made-up-order"}
        redeemed = await direct.post("/api/v1/coupons/redeem", json=body, headers=bearer)
        released = await direct.post(
            "/api/v1/coupons/release", json={"order_id": "made-up-order"}, headers=bearer
        )
        quoted = await direct.post("/api/v1/coupons/quote", json=cart(), headers=bearer)
    assert (redeemed.status_code, released.status_code, quoted.status_code) == (403, 403, 200)
    assert (await stored(fresh))["redeemed"] == 0


async def test_an_order_cannot_switch_to_another_code(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin)
    await create(coupons, admin, code="OTHER5", percent=5)
    await redeem(coupons, "order-1")
    switched = await redeem(coupons, "order-1", code="OTHER5")
    assert switched.status_code == 409
    assert "already redeemed coupon SAVE10" in switched.json()["error"]["message"]


async def test_an_invalid_redeem_is_rejected_with_the_reason_and_counts_nothing(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin, min_subtotal=9000)
    response = await redeem(coupons, "order-1")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "coupon_rejected"
    assert "minimum subtotal" in response.json()["error"]["message"]
    assert (await stored(fresh))["redeemed"] == 0
    assert await fresh.infras["coupon"].db["redemptions"].count_documents({}) == 0


async def test_the_total_limit_holds_under_many_concurrent_redemptions(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin, max_redemptions=5)
    customers = [f"c{i}" for i in range(60)]
    responses = await asyncio.gather(
        *(
            coupons.post(
                "/api/v1/coupons/redeem",
                json={**cart(customer=c), "order_id": f"order-{c}"},
                headers=signed(fresh, c),
            )
            for c in customers
        )
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5
    assert statuses.count(409) == 55
    assert {r.json()["error"]["message"] for r in responses if r.status_code == 409} == {
        "coupon redemption limit reached"
    }
    assert (await stored(fresh))["redeemed"] == 5
    redemptions = fresh.infras["coupon"].db["redemptions"]
    assert await redemptions.count_documents({"status": "REDEEMED"}) == 5
    assert await redemptions.count_documents({}) == 5


async def test_the_per_customer_limit_holds_under_concurrent_orders(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin, max_per_customer=2)
    responses = await asyncio.gather(*(redeem(coupons, f"order-{i}") for i in range(20)))
    assert [r.status_code for r in responses].count(200) == 2
    assert (await quote(coupons))["reason"] == "per-customer limit reached for this coupon"
    bob = await coupons.post(
        "/api/v1/coupons/redeem",
        json={**cart(customer="bob"), "order_id": "bob-1"},
        headers=signed(fresh, "bob"),
    )
    assert bob.status_code == 200


async def test_concurrent_redeems_of_one_order_count_once(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    responses = await asyncio.gather(*(redeem(coupons, "order-1") for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["redemption_id"] for r in responses}) == 1
    assert (await stored(fresh))["redeemed"] == 1


async def test_release_gives_the_redemption_back_once(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin, max_redemptions=1)
    await redeem(coupons, "order-1")
    assert (await quote(coupons))["reason"] == "coupon redemption limit reached"
    released = [
        await coupons.post("/api/v1/coupons/release", json={"order_id": "order-1"})
        for _ in range(3)
    ]
    assert [r.json() for r in released] == [{"order_id": "order-1", "released": True}] * 3
    assert (await stored(fresh))["redeemed"] == 0
    assert (await quote(coupons))["valid"] is True


async def test_releasing_an_unknown_order_is_a_harmless_no(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    response = await coupons.post("/api/v1/coupons/release", json={"order_id": "ghost"})
    assert response.status_code == 200
    assert response.json() == {"order_id": "ghost", "released": False}
    late = await redeem(coupons, "ghost")
    assert late.status_code == 409, "a redeem arriving after its order's release never counts"
    assert (await stored(fresh))["redeemed"] == 0


async def test_a_released_order_is_not_redeemed_again(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    await redeem(coupons, "order-1")
    await coupons.post("/api/v1/coupons/release", json={"order_id": "order-1"})
    again = await redeem(coupons, "order-1")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "coupon_rejected"
    assert (await stored(fresh))["redeemed"] == 0


async def test_a_customer_cannot_use_or_release_for_someone_else(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    assert (await redeem(coupons, "order-1", customer="bob")).status_code == 403
    await redeem(coupons, "order-1")
    bobs = await coupons.post(
        "/api/v1/coupons/release", json={"order_id": "order-1"}, headers=signed(fresh, "bob")
    )
    assert bobs.status_code == 403
    assert (await stored(fresh))["redeemed"] == 1
    support = signed(fresh, "helper", Role.SUPPORT)
    by_support = await coupons.post(
        "/api/v1/coupons/release", json={"order_id": "order-1"}, headers=support
    )
    assert by_support.json()["released"] is True


async def test_checkout_routes_require_an_identity(fresh: Cluster) -> None:
    async with fresh.client("coupon") as anonymous:
        for path, body in [
            ("/api/v1/coupons/quote", cart()),
            ("/api/v1/coupons/redeem", {**cart(), "order_id": "o"}),
            ("/api/v1/coupons/release", {"order_id": "o"}),
        ]:
            assert (await anonymous.post(path, json=body)).status_code == 401


async def test_customers_cannot_administer_coupons(coupons: httpx.AsyncClient) -> None:
    body = {"code": "FREE", "kind": "PERCENT", "percent": 100}
    assert (await coupons.post("/api/v1/coupons", json=body)).status_code == 403
    assert (await coupons.get("/api/v1/coupons")).status_code == 403
    assert (await coupons.post("/api/v1/coupons/FREE/deactivate")).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [item(-5)]}, "amount"),
        ({"items": [{**item(500), "quantity": 0}]}, "quantity"),
        ({"currency": "eur"}, "currency"),
        (
            {"items": [item(500), {**item(500), "unit_price": {"amount": 5, "currency": "USD"}}]},
            "currency",
        ),
        ({"customer_id": "a.b"}, "customer_id"),
        ({"code": ""}, "code"),
        ({"extra": True}, "extra"),
    ],
)
async def test_a_malformed_quote_says_what_is_wrong(
    coupons: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    response = await coupons.post("/api/v1/coupons/quote", json=cart(**changes))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]


async def test_a_malformed_redeem_changes_nothing(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    await create(coupons, admin)
    response = await coupons.post("/api/v1/coupons/redeem", json=cart())
    assert response.status_code == 422
    assert "order_id" in response.json()["error"]["message"]
    broken = await coupons.post(
        "/api/v1/coupons/redeem", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400  # not JSON: refused before the route
    assert (await stored(fresh))["redeemed"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "x", "kind": "PERCENT", "percent": 10}, "code"),
        ({"code": "BAD", "kind": "PERCENT", "percent": 0}, "percent"),
        ({"code": "BAD", "kind": "PERCENT", "percent": 101}, "percent"),
        ({"code": "BAD", "kind": "FIXED", "amount": -100}, "amount"),
        ({"code": "BAD", "kind": "FIXED", "percent": 10}, "FIXED"),
        (
            {"code": "BAD", "kind": "PERCENT", "percent": 10, "max_redemptions": 0},
            "max_redemptions",
        ),
        ({"code": "BAD", "kind": "HALF"}, "kind"),
        (
            {
                "code": "BAD",
                "kind": "PERCENT",
                "percent": 10,
                "valid_from": "2030-01-02T00:00:00Z",
                "valid_until": "2030-01-01T00:00:00Z",
            },
            "valid_until",
        ),
    ],
)
async def test_a_bad_coupon_is_not_created_and_says_why(
    coupons: httpx.AsyncClient,
    admin: dict[str, str],
    fresh: Cluster,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await coupons.post("/api/v1/coupons", json=body, headers=admin)
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
    assert await fresh.infras["coupon"].db["coupons"].count_documents({}) == 0


async def test_admins_list_and_read_coupons(
    coupons: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await create(coupons, admin)
    await create(coupons, admin, code="OLD1")
    await coupons.post("/api/v1/coupons/OLD1/deactivate", headers=admin)
    listed = await coupons.get("/api/v1/coupons", params={"active": "true"}, headers=admin)
    assert [c["code"] for c in listed.json()["items"]] == ["SAVE10"]
    one = await coupons.get("/api/v1/coupons/save10", headers=admin)
    assert one.json()["min_subtotal"] == {"amount": 0, "currency": "EUR"}
    missing = await coupons.post("/api/v1/coupons/NOPE/deactivate", headers=admin)
    assert missing.status_code == 404


async def test_my_coupons_are_mine_and_the_public_usable_ones(
    coupons: httpx.AsyncClient, admin: dict[str, str], fresh: Cluster
) -> None:
    now = fresh.infras["coupon"].clock.now()
    await create(coupons, admin)
    await create(coupons, admin, code="ALICE1", customer_id="alice")
    await create(coupons, admin, code="BOB1", customer_id="bob")
    await create(
        coupons,
        admin,
        code="GONE",
        valid_until=(now - timedelta(days=1)).isoformat(),
        valid_from=(now - timedelta(days=2)).isoformat(),
    )
    mine = await coupons.get("/api/v1/coupons/mine")
    assert sorted(c["code"] for c in mine.json()["items"]) == ["ALICE1", "SAVE10"]
