"""Sets the sale's stage through the public API, as an admin: shopper accounts, coupons and
sale products; and reads back what another process staged.

Idempotent, keyed by names the scenario fixes (shopper emails, coupon codes, sale SKUs): an
account or coupon that exists is kept, a sale product that exists is topped up to the stock the
scenario gives it. So a re-run, or several Locust processes, neither duplicate nor fail. Only
one process stages (the master, or a standalone runner); workers `read_back`.
"""

from __future__ import annotations

import random
import time
from typing import Any

from graphql import get_introspection_query

from estore.kit.identity import Role
from estore.seed import DEMO_USERS
from loadtests import operations as ops
from loadtests.api import Api, ApiError
from loadtests.scenario import SaleProduct, Scenario

SHOPPER_PASSWORD = "sale-day-pass-1"
GOOD_CARD = "4242424242424242"
DECLINED_CARDS = ["4000000000000002", "4000000000009995"]
BROWSE_SAMPLE = 200
CATALOG_PAGE = 100
# The federated services every visitor reaches through the gateway; the ticket service is
# reached directly, so support visitors come only when its URL is known.
GATEWAY_SERVICES = ["auth", "category", "coupon", "gateway", "order", "payment", "product"]
READ_BACK_S = 120.0

REGISTER = """
mutation Register($input: RegisterInput!) { register(input: $input) { accessToken } }"""
FIND = """
query FindSku($text: String!) {
  products(filter: { text: $text }, first: 5) { edges { node { id sku stock available } } }
}"""
CATALOG = """
query Catalog($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}"""
CREATE_PRODUCT = """
mutation CreateSaleProduct($input: CreateProductInput!) { createProduct(input: $input) { id } }"""
RESTOCK = """
mutation TopUp($id: ID!, $quantity: Int!) { restockProduct(id: $id, quantity: $quantity) { id } }"""


def shopper_email(index: int) -> str:
    return f"shopper-{index:04d}@load.example.com"


def demo(role: Role) -> dict[str, str]:
    user = next(u for u in DEMO_USERS if u.role is role)
    return {"email": user.email, "password": user.password}


def check_operations(api: Api) -> None:
    """Refuse a run whose GraphQL documents the gateway's composed schema would reject."""
    data = api.call("IntrospectionQuery", get_introspection_query())
    wrong = ops.problems(data)
    if wrong:
        raise ApiError("the gateway would reject the visitors' operations: " + "; ".join(wrong))


def _tolerate_conflict(api: Api, name: str, query: str, variables: dict[str, Any]) -> None:
    try:
        api.call(name, query, variables)
    except ApiError as exc:
        if "conflict" not in exc.code:
            raise  # staged by an earlier run or another process: the conflict is the answer


def _accounts(api: Api, count: int) -> list[dict[str, str]]:
    accounts = [{"email": shopper_email(i), "password": SHOPPER_PASSWORD} for i in range(count)]
    for account in accounts:
        _tolerate_conflict(api, "Register", REGISTER, {"input": account | {"name": "Shopper"}})
    return accounts


def _coupons(api: Api, scenario: Scenario) -> list[str]:
    for c in scenario.sale.coupons:
        coupon = {
            "code": c.code,
            "kind": "PERCENT",
            "percent": c.percent,
            "max_redemptions": c.max_redemptions,
            "max_per_customer": c.max_per_customer,
            "description": "sale day",
        }
        _tolerate_conflict(api, "CreateCoupon", ops.CREATE_COUPON, {"input": ops.camel(coupon)})
    return [c.code for c in scenario.sale.coupons]


def find_sku(api: Api, sku: str) -> dict[str, Any] | None:
    edges = api.call("FindSku", FIND, {"text": sku})["products"]["edges"]
    return next((e["node"] for e in edges if e["node"]["sku"] == sku), None)


def _sale_product(api: Api, item: SaleProduct) -> str:
    found = find_sku(api, item.sku)
    if found is None:
        form = {
            "sku": item.sku,
            "name": item.name,
            "price": {"amount": item.price, "currency": "EUR"},
            "stock": item.stock,
            "description": "On sale today only",
        }
        try:
            created = api.call("CreateSaleProduct", CREATE_PRODUCT, {"input": form})
            return str(created["createProduct"]["id"])
        except ApiError as exc:
            if "conflict" not in exc.code:
                raise
            found = find_sku(api, item.sku)  # another process created it just now
            assert found is not None
    short = item.stock - int(found["stock"])
    if short > 0:
        api.call("TopUp", RESTOCK, {"id": found["id"], "quantity": short})
    return str(found["id"])


def _browse_ids(api: Api, scenario: Scenario) -> list[str]:
    ids: list[str] = []
    after = None
    while len(ids) < 10 * BROWSE_SAMPLE:
        page = api.call("Catalog", CATALOG, {"first": CATALOG_PAGE, "after": after})["products"]
        ids += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ids.sort()
    random.Random(scenario.seed).shuffle(ids)
    return ids[:BROWSE_SAMPLE]


def _fixtures(api: Api, scenario: Scenario, ticket_url: str | None) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "gateway_url": api.host,
        "services": sorted(GATEWAY_SERVICES + (["ticket"] if ticket_url else [])),
        "api": "graphql",
        "urls": {"ticket": ticket_url} if ticket_url else {},
        "shoppers": [
            {"email": shopper_email(i), "password": SHOPPER_PASSWORD}
            for i in range(scenario.shopper_accounts)
        ],
        "support": demo(Role.SUPPORT),
        "good_card": GOOD_CARD,
        "declined_cards": DECLINED_CARDS,
        "coupon_codes": [c.code for c in scenario.sale.coupons],
    }


def stage(
    api: Api, scenario: Scenario, admin: dict[str, str], ticket_url: str | None = None
) -> dict[str, Any]:
    """Stage the sale as `admin` and return the fixtures the visitors read."""
    check_operations(api)
    api.sign_in(admin["email"], admin["password"])
    fixtures = _fixtures(api, scenario, ticket_url) | {"admin": admin}
    _accounts(api, scenario.shopper_accounts)
    _coupons(api, scenario)
    fixtures["sale_product_ids"] = [_sale_product(api, p) for p in scenario.sale.products]
    fixtures["browse_ids"] = _browse_ids(api, scenario)
    return fixtures


def read_back(
    api: Api,
    scenario: Scenario,
    admin: dict[str, str],
    ticket_url: str | None = None,
    timeout_s: float = READ_BACK_S,
) -> dict[str, Any]:
    """The fixtures of a sale another process staged; waits (bounded) until its items show."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [find_sku(api, p.sku) for p in scenario.sale.products]
        if all(found):
            break
        if time.monotonic() > deadline:
            raise ApiError(f"the sale was not staged at {api.host} within {timeout_s:g} s")
        time.sleep(1.0)
    fixtures = _fixtures(api, scenario, ticket_url) | {"admin": admin}
    fixtures["sale_product_ids"] = [str(f["id"]) for f in found if f]
    fixtures["browse_ids"] = _browse_ids(api, scenario)
    return fixtures
