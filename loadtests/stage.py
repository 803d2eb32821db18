"""Sets the sale's stage in the serving process: sale products, coupons, shopper accounts.

Writes the fixtures the Locust users read (ids, codes, accounts, cards) as one JSON file.
Everything goes through the services' own use cases, so the data is what a client would make.
"""

from __future__ import annotations

import random
from typing import Any

from graphql import get_introspection_query

from estore.cluster import Cluster
from estore.kit.errors import Conflict
from estore.kit.identity import Caller, Role
from estore.kit.money import Money
from estore.seed import DEMO_USERS
from estore.services.auth.models import Registration
from estore.services.coupon.models import CouponInput, DiscountKind
from estore.services.product.models import ProductInput, StockChange
from loadtests import operations as ops
from loadtests.scenario import Scenario

SHOPPER_PASSWORD = "sale-day-pass-1"
GOOD_CARD = "4242424242424242"
DECLINED_CARDS = ["4000000000000002", "4000000000009995"]
BROWSE_SAMPLE = 200


def shopper_email(index: int) -> str:
    return f"shopper-{index:04d}@load.example.com"


async def _accounts(cluster: Cluster, count: int) -> list[dict[str, str]]:
    auth = cluster.apps["auth"].state.service
    accounts = []
    for index in range(count):
        form = Registration(email=shopper_email(index), password=SHOPPER_PASSWORD, name="Shopper")
        try:
            await auth.register(form, roles=[Role.CUSTOMER])
        except Conflict:
            pass  # staged by an earlier run on the same stores
        accounts.append({"email": form.email, "password": SHOPPER_PASSWORD})
    return accounts


async def _sale_products(cluster: Cluster, scenario: Scenario) -> list[str]:
    products = cluster.apps["product"].state.service
    db = cluster.infras["product"].db
    admin = _admin_caller()
    ids = []
    for item in scenario.sale.products:
        existing = await db["products"].find_one({"sku": item.sku})
        if existing is None:
            form = ProductInput(
                sku=item.sku,
                name=item.name,
                price=Money(amount=item.price, currency="EUR"),
                stock=item.stock,
                description="On sale today only",
            )
            ids.append((await products.create(form)).id)
        else:
            change = StockChange(stock=item.stock, reason="sale-day stage")
            await products.change_stock(existing["_id"], change, admin)
            ids.append(existing["_id"])
    return ids


def _admin_caller() -> Caller:
    admin = next(u for u in DEMO_USERS if u.role is Role.ADMIN)
    return Caller(user_id="load-stage", email=admin.email, roles=frozenset({Role.ADMIN}))


async def _coupons(cluster: Cluster, scenario: Scenario) -> list[str]:
    coupons = cluster.apps["coupon"].state.service
    for c in scenario.sale.coupons:
        form = CouponInput(
            code=c.code,
            kind=DiscountKind.PERCENT,
            percent=c.percent,
            max_redemptions=c.max_redemptions,
            max_per_customer=c.max_per_customer,
            description="sale day",
        )
        try:
            await coupons.create(form)
        except Conflict:
            pass
    return [c.code for c in scenario.sale.coupons]


async def _browse_ids(cluster: Cluster, scenario: Scenario) -> list[str]:
    cursor = cluster.infras["product"].db["products"].find({}, {"_id": 1})
    ids = sorted(doc["_id"] for doc in await cursor.to_list(10_000))
    random.Random(scenario.seed).shuffle(ids)
    return ids[:BROWSE_SAMPLE]


async def check_operations(cluster: Cluster) -> None:
    """Refuse to stage a run whose GraphQL documents the composed schema would reject."""
    if "gateway" not in cluster.infras:
        raise RuntimeError("the storefront's visitors talk to the gateway, and none is served")
    async with cluster.client("gateway", timeout=30) as client:
        answer = (await client.post("/graphql", json={"query": get_introspection_query()})).json()
    if answer.get("errors") or not answer.get("data"):
        raise RuntimeError(f"the gateway did not answer introspection: {answer.get('errors')}")
    wrong = ops.problems(answer["data"])
    if wrong:
        raise RuntimeError("the gateway would reject the visitors' operations: " + "; ".join(wrong))


def _staff(role: Role) -> dict[str, str]:
    user = next(u for u in DEMO_USERS if u.role is role)
    return {"email": user.email, "password": user.password}


async def stage(cluster: Cluster, scenario: Scenario, gateway_url: str) -> dict[str, Any]:
    """Everything the load needs; services not yet in the cluster are left out."""
    await check_operations(cluster)
    has = set(cluster.apps)
    fixtures: dict[str, Any] = {
        "scenario": scenario.name,
        "gateway_url": gateway_url,
        "services": sorted(has),
        "api": "graphql",
        "urls": {n: f"http://127.0.0.1:{i.settings.port}" for n, i in cluster.infras.items()},
        "shoppers": await _accounts(cluster, scenario.shopper_accounts),
        "admin": _staff(Role.ADMIN),
        "support": _staff(Role.SUPPORT),
        "good_card": GOOD_CARD,
        "declined_cards": DECLINED_CARDS,
        "sale_product_ids": await _sale_products(cluster, scenario) if "product" in has else [],
        "coupon_codes": await _coupons(cluster, scenario) if "coupon" in has else [],
    }
    fixtures["browse_ids"] = await _browse_ids(cluster, scenario) if "product" in has else []
    return fixtures
