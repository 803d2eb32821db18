"""The coupon subgraph: preview a code for a cart, myCoupons, admin create and deactivate."""

from __future__ import annotations

from typing import Any

import pytest

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role

pytestmark = pytest.mark.asyncio(loop_scope="module")

CREATE = """
mutation($input: CreateCouponInput!) {
  createCoupon(input: $input) { id code kind percentOff amountOff { amount currency } active }
}"""
PREVIEW = """
query($code: String!, $items: [CartItemInput!]!) {
  previewCoupon(code: $code, items: $items) { code valid reason discount { amount formatted } }
}"""
ITEMS = [
    {"productId": "p1", "categoryId": "books", "quantity": 2, "unitPrice": {"amount": 1500}},
    {"productId": "p2", "categoryId": "toys", "quantity": 1, "unitPrice": {"amount": 1000}},
]


async def graphql(
    cluster: Cluster,
    query: str,
    variables: dict[str, Any] | None = None,
    user: str | None = "alice",
    *roles: Role,
) -> dict[str, Any]:
    headers = {}
    if user:
        caller = Caller(
            user_id=user,
            email=f"{user}@example.com",
            roles=frozenset(roles or {Role.CUSTOMER}),
        )
        headers |= cluster.caller_headers(caller)
    async with cluster.client("coupon", headers=headers) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def admin_create(cluster: Cluster, **fields: Any) -> dict[str, Any]:
    body = await graphql(
        cluster,
        CREATE,
        {"input": {"code": "spring", "kind": "PERCENT", "percent": 20, **fields}},
        "root",
        Role.ADMIN,
    )
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createCoupon"]
    return created


async def test_an_admin_creates_a_coupon_and_a_shopper_previews_it(fresh: Cluster) -> None:
    created = await admin_create(fresh, eligibleCategoryIds=["books"])
    assert (created["code"], created["kind"], created["percentOff"]) == ("SPRING", "PERCENT", 20)
    preview = await graphql(fresh, PREVIEW, {"code": "spring", "items": ITEMS}, None)
    assert preview["data"]["previewCoupon"] == {
        "code": "SPRING",
        "valid": True,
        "reason": None,
        "discount": {"amount": 600, "formatted": "6.00 EUR"},
    }


async def test_a_preview_of_an_unknown_code_says_so(fresh: Cluster) -> None:
    preview = await graphql(fresh, PREVIEW, {"code": "nope", "items": ITEMS})
    assert preview["data"]["previewCoupon"]["reason"] == "unknown coupon code"


async def test_a_preview_with_a_bad_cart_says_what_is_wrong(fresh: Cluster) -> None:
    bad = [{**ITEMS[0], "quantity": 0}]
    body = await graphql(fresh, PREVIEW, {"code": "spring", "items": bad})
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "quantity" in body["errors"][0]["message"]
    empty = await graphql(fresh, PREVIEW, {"code": "spring", "items": []})
    assert "empty" in empty["errors"][0]["message"]


async def test_customers_cannot_create_or_deactivate_coupons(fresh: Cluster) -> None:
    variables = {"input": {"code": "free", "kind": "PERCENT", "percent": 100}}
    body = await graphql(fresh, CREATE, variables)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await graphql(fresh, CREATE, variables, None)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert await fresh.infras["coupon"].db["coupons"].count_documents({}) == 0


async def test_a_bad_coupon_input_is_refused_with_the_field(fresh: Cluster) -> None:
    body = await graphql(
        fresh,
        CREATE,
        {"input": {"code": "x", "kind": "PERCENT", "percent": 10}},
        "root",
        Role.ADMIN,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "code" in body["errors"][0]["message"]


async def test_an_admin_deactivates_a_coupon(fresh: Cluster) -> None:
    await admin_create(fresh)
    mutation = 'mutation { deactivateCoupon(code: "Spring") { code active } }'
    body = await graphql(fresh, mutation, None, "root", Role.ADMIN)
    assert body["data"]["deactivateCoupon"] == {"code": "SPRING", "active": False}
    preview = await graphql(fresh, PREVIEW, {"code": "spring", "items": ITEMS})
    assert preview["data"]["previewCoupon"]["reason"] == "coupon is inactive"
    missing = await graphql(
        fresh, 'mutation { deactivateCoupon(code: "NOPE") { code } }', None, "root", Role.ADMIN
    )
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_my_coupons_lists_personal_and_public_ones(fresh: Cluster) -> None:
    await admin_create(fresh)
    await admin_create(fresh, code="ALICEONLY", customerId="alice")
    await admin_create(fresh, code="BOBONLY", customerId="bob")
    body = await graphql(fresh, "{ myCoupons { code personal } }")
    assert sorted((c["code"], c["personal"]) for c in body["data"]["myCoupons"]) == [
        ("ALICEONLY", True),
        ("SPRING", False),
    ]
    anonymous = await graphql(fresh, "{ myCoupons { code } }", None, None)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


async def test_a_personal_code_previews_as_unknown_to_others(fresh: Cluster) -> None:
    await admin_create(fresh, code="ALICEONLY", customerId="alice")
    own = await graphql(fresh, PREVIEW, {"code": "aliceonly", "items": ITEMS})
    assert own["data"]["previewCoupon"]["valid"] is True
    other = await graphql(fresh, PREVIEW, {"code": "aliceonly", "items": ITEMS}, "bob")
    assert other["data"]["previewCoupon"]["reason"] == "unknown coupon code"
