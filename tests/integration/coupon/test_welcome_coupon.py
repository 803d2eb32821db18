"""`user:registered` from the auth service gives the new customer one welcome coupon."""

from __future__ import annotations

from typing import Any

import pytest

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role
from estore.services.coupon.service import CouponService

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALICE = {"email": "alice@example.com", "password": "correct horse 1", "name": "Alice"}


async def register(cluster: Cluster) -> str:
    async with cluster.client("auth") as auth:
        response = await auth.post("/api/v1/auth/register", json=ALICE)
    assert response.status_code == 201, response.text
    await cluster.infras["auth"].bus.drain()
    await cluster.infras["coupon"].bus.drain()
    user_id: str = response.json()["user"]["id"]
    return user_id


async def mine(cluster: Cluster, user_id: str) -> list[dict[str, Any]]:
    caller = Caller(user_id=user_id, email=ALICE["email"], roles=frozenset({Role.CUSTOMER}))
    headers = cluster.caller_headers(caller)
    async with cluster.client("coupon", headers=headers) as coupons:
        response = await coupons.get("/api/v1/coupons/mine")
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_new_customer_gets_a_personal_welcome_coupon(fresh: Cluster) -> None:
    user_id = await register(fresh)
    [welcome] = await mine(fresh, user_id)
    assert welcome["code"] == f"WELCOME-{user_id.upper()}"
    assert (welcome["kind"], welcome["percent"]) == ("PERCENT", 10)
    assert (welcome["customer_id"], welcome["max_redemptions"]) == (user_id, 1)
    assert welcome["valid_until"] > welcome["valid_from"]
    assert await mine(fresh, "someone-else") == []


async def test_a_redelivered_registration_issues_no_second_coupon(fresh: Cluster) -> None:
    user_id = await register(fresh)
    service = fresh.service("coupon", CouponService)
    clock = fresh.infras["coupon"].clock
    assert await service.issue_welcome(user_id, clock.now()) is False
    assert await fresh.infras["coupon"].db["coupons"].count_documents({}) == 1
