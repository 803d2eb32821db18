"""The visitors' GraphQL documents against the real composed schema, in-process: they validate,
checkouts read as the right saga outcomes, admin mutations work, and the invariant snapshot
reads the services' real stores.

Locust is never imported here (it patches sockets with gevent): the documents and the outcome
rules are plain modules, posted with httpx as the Locust storefront posts them.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from graphql import build_schema, introspection_from_schema

from estore.cluster import Cluster
from estore.seed import seed
from loadtests import operations as ops
from loadtests import snapshot
from loadtests.invariants import evaluate
from loadtests.outcomes import Outcome, classify
from loadtests.scenario import load_scenario
from loadtests.stage import GOOD_CARD, check_operations, stage

_keys = itertools.count()


@pytest.fixture
async def staged(fresh: Cluster) -> dict[str, Any]:
    """A fresh sale stage, as the serving process sets it before a run."""
    await seed(fresh, products=30)
    scenario = load_scenario("sale_day").model_copy(update={"shopper_accounts": 3})
    return await stage(fresh, scenario, "http://gateway")


async def call(
    cluster: Cluster, name: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"operationName": name, "query": ops.OPERATIONS[name], "variables": variables}
    async with cluster.client("gateway", timeout=30) as client:
        answer: dict[str, Any] = (await client.post("/graphql", json=body, headers=headers)).json()
    return answer


async def login(cluster: Cluster, account: dict[str, str]) -> str:
    answer = await call(cluster, "Login", account)
    token: str = answer["data"]["login"]["accessToken"]
    return token


async def checkout(
    cluster: Cluster, token: str, product: str, quantity: int, card: str, coupon: str | None
) -> dict[str, Any]:
    order = {
        "items": [{"product_id": product, "quantity": quantity}],
        "card_number": card,
        "idempotency_key": f"graphql-path-{next(_keys):06d}",
        "coupon_code": coupon,
    }
    answer = await call(cluster, "CreateOrder", {"input": ops.camel(order)}, token)
    assert "errors" not in answer, answer
    placed: dict[str, Any] = answer["data"]["createOrder"]
    return placed


async def test_every_visitor_operation_validates_against_the_composed_schema(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    await check_operations(cluster)
    assert staged["api"] == "graphql"


def test_a_document_asking_for_a_field_the_schema_lacks_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    introspection = introspection_from_schema(build_schema("type Query { ping: String }"))
    monkeypatch.setattr(ops, "OPERATIONS", {"Ping": "query Ping { ping colour }"})
    assert ops.problems(dict(introspection)) == [
        "Ping: Cannot query field 'colour' on type 'Query'."
    ]


def test_a_document_whose_operation_name_differs_from_its_request_name_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    introspection = introspection_from_schema(build_schema("type Query { ping: String }"))
    monkeypatch.setattr(ops, "OPERATIONS", {"Ping": "query Pong { ping }"})
    assert ops.problems(dict(introspection)) == ["Ping: the document names its operation ['Pong']"]


async def test_checkouts_over_graphql_read_as_their_saga_outcomes(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    token = await login(cluster, staged["shoppers"][0])
    tv, phone, earbuds = staged["sale_product_ids"]
    declined = staged["declined_cards"][0]

    confirmed = await checkout(cluster, token, tv, 1, GOOD_CARD, None)
    with_coupon = await checkout(cluster, token, phone, 1, GOOD_CARD, "FLASH10")
    short = await checkout(cluster, token, earbuds, 1000, GOOD_CARD, None)
    refused = await checkout(cluster, token, earbuds, 1, declined, None)
    bad_coupon = await checkout(cluster, token, earbuds, 1, GOOD_CARD, "NO-SUCH-CODE")

    assert classify(confirmed) is Outcome.CONFIRMED
    assert classify(with_coupon) is Outcome.CONFIRMED
    assert with_coupon["discount"]["amount"] == 2990
    assert classify(short) is Outcome.OUT_OF_STOCK
    assert classify(refused) is Outcome.DECLINED
    assert classify(bad_coupon) is Outcome.COMPENSATED


async def test_admins_restock_and_create_coupons_and_shoppers_may_not(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    admin = await login(cluster, staged["admin"])
    shopper = await login(cluster, staged["shoppers"][1])
    product = staged["browse_ids"][0]
    before = (await call(cluster, "CartCheck", {"id": product}))["data"]["product"]

    restocked = await call(cluster, "Restock", {"id": product, "quantity": 3}, admin)
    coupon = {"code": "LOAD-TEST-1", "kind": "PERCENT", "percent": 5, "max_redemptions": 10}
    created = await call(cluster, "CreateCoupon", {"input": ops.camel(coupon)}, admin)
    refused = await call(cluster, "Restock", {"id": product, "quantity": 3}, shopper)

    assert restocked["data"]["restockProduct"]["available"] == before["available"] + 3
    assert created["data"]["createCoupon"]["code"] == "LOAD-TEST-1"
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_snapshot_of_the_real_stores_keeps_the_invariants_after_checkouts(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    before = await snapshot.baseline(cluster)
    token = await login(cluster, staged["shoppers"][0])
    admin = await login(cluster, staged["admin"])
    tv = staged["sale_product_ids"][0]
    await checkout(cluster, token, tv, 2, GOOD_CARD, "VIP25")
    await checkout(cluster, token, tv, 1, staged["declined_cards"][1], None)
    await call(cluster, "Restock", {"id": staged["browse_ids"][1], "quantity": 2}, admin)

    assert await snapshot.settle(cluster, timeout_s=5)
    report = evaluate(await snapshot.snapshot(cluster, before))

    assert report.passed, report
    assert report.totals["coupons_redeemed"]["VIP25"] == 1
    restocked = next(
        p
        for p in (await snapshot.snapshot(cluster, before)).products
        if p.id == staged["browse_ids"][1]
    )
    assert restocked.admin_delta == 2


async def test_a_unit_moved_behind_the_services_back_breaks_stock_conservation(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    before = await snapshot.baseline(cluster)
    products = cluster.infras["product"].db["products"]
    tv = staged["sale_product_ids"][0]
    await products.update_one({"_id": tv}, {"$inc": {"stock": -1, "available": -1}})
    try:
        report = evaluate(await snapshot.snapshot(cluster, before))
    finally:
        await products.update_one({"_id": tv}, {"$inc": {"stock": 1, "available": 1}})

    (failed,) = [c for c in report.checks if not c.passed]
    assert failed.name == "stock conservation"
    assert failed.violations[0].startswith("SALE-TV-0001:")
