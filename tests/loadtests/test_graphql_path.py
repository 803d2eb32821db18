"""The visitors' GraphQL documents against the real composed schema of a served cluster: they
validate, the sale is staged through the public API (idempotently), checkouts read as the right
saga outcomes, admin mutations work, and the invariants hold, read both on the services' real
stores and through the API from outside.

Locust is never imported here (it patches sockets with gevent): the documents and the outcome
rules are plain modules, posted with httpx as the Locust storefront posts them; staging uses
`requests`, as in a Locust process, in a thread.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import build_schema, introspection_from_schema

from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Role
from estore.kit.testing import free_ports
from estore.seed import seed
from loadtests import operations as ops
from loadtests import outside, snapshot
from loadtests.api import Api, ApiError
from loadtests.invariants import InvariantReport, evaluate
from loadtests.outcomes import Outcome, classify
from loadtests.scenario import Scenario, load_scenario
from loadtests.serve import gateway_url
from loadtests.stage import GOOD_CARD, check_operations, demo, stage
from tests.served import serving

pytestmark = pytest.mark.e2e
_keys = itertools.count()
SCENARIO = load_scenario("sale_day").model_copy(update={"shopper_accounts": 3})


@pytest.fixture(scope="module")
async def cluster(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    """Every service on free loopback ports, as a load run sees them."""
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    overrides = SCENARIO.server | fast_hashing
    served = Cluster(Wiring(), served=True, ports=ports, overrides=overrides)
    async with serving(served):
        yield served


def api(cluster: Cluster) -> Api:
    return Api(gateway_url(cluster))


def as_admin(cluster: Cluster, staged: dict[str, Any]) -> Api:
    """The API signed in as the staging admin (blocking: call in a thread)."""
    admin = api(cluster)
    admin.sign_in(staged["admin"]["email"], staged["admin"]["password"])
    return admin


async def read_baseline(cluster: Cluster, staged: dict[str, Any]) -> outside.Baseline:
    return await asyncio.to_thread(lambda: outside.baseline(as_admin(cluster, staged), staged))


async def check_outside(
    cluster: Cluster, staged: dict[str, Any], before: outside.Baseline
) -> InvariantReport:
    return await asyncio.to_thread(lambda: outside.check(as_admin(cluster, staged), staged, before))


async def stage_through_api(cluster: Cluster, scenario: Scenario = SCENARIO) -> dict[str, Any]:
    return await asyncio.to_thread(stage, api(cluster), scenario, demo(Role.ADMIN))


@pytest.fixture
async def staged(fresh: Cluster) -> dict[str, Any]:
    """A fresh sale stage, as the master of a Locust run sets it before the load."""
    await seed(fresh, products=30)
    return await stage_through_api(fresh)


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
    await asyncio.to_thread(check_operations, api(cluster))
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


async def test_staging_again_keeps_the_accounts_and_items_and_tops_the_stock_back_up(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    token = await login(cluster, staged["shoppers"][0])
    tv = staged["sale_product_ids"][0]
    await checkout(cluster, token, tv, 2, GOOD_CARD, None)

    again = await stage_through_api(cluster)

    assert again["sale_product_ids"] == staged["sale_product_ids"]
    shelf = (await call(cluster, "CartCheck", {"id": tv}))["data"]["product"]
    assert shelf["available"] == SCENARIO.sale.products[0].stock
    await login(cluster, again["shoppers"][0])  # the account is the same one


async def test_staging_as_a_wrong_admin_stops_with_one_line(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    wrong = {"email": staged["admin"]["email"], "password": "not the password"}
    with pytest.raises(ApiError) as refused:
        await asyncio.to_thread(stage, api(cluster), SCENARIO, wrong)
    assert str(refused.value).startswith(f"the sign-in of {wrong['email']} at http://127.0.0.1:")
    assert "\n" not in str(refused.value)


async def test_a_cluster_nobody_serves_is_named_in_one_line() -> None:
    (port,) = free_ports(1)
    with pytest.raises(ApiError, match=f"cannot reach http://127.0.0.1:{port}: is the cluster"):
        await asyncio.to_thread(stage, Api(f"http://127.0.0.1:{port}"), SCENARIO, demo(Role.ADMIN))


async def test_the_invariants_read_through_the_api_hold_after_checkouts(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    before = await read_baseline(cluster, staged)
    token = await login(cluster, staged["shoppers"][0])
    tv, phone, _ = staged["sale_product_ids"]
    await checkout(cluster, token, tv, 2, GOOD_CARD, "VIP25")
    await checkout(cluster, token, phone, 1, staged["declined_cards"][0], "FLASH10")
    await checkout(cluster, token, phone, 1, GOOD_CARD, "NO-SUCH-CODE")

    report = await check_outside(cluster, staged, before)

    assert report.passed, report
    assert report.checked_through == "api"
    assert [c.name for c in report.checks] == [
        "stock conservation",
        "order pricing",
        "coupon limits",
        "no unfinished sagas",
    ]
    assert {"money", "stock holds"} <= set(report.not_checked)
    assert report.totals["units_sold"] == 2
    assert report.totals["coupons_redeemed"] == {"VIP25": 1}


async def test_a_unit_moved_behind_the_services_back_is_caught_from_outside(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    before = await read_baseline(cluster, staged)
    products = cluster.infras["product"].db["products"]
    tv = staged["sale_product_ids"][0]
    await products.update_one({"_id": tv}, {"$inc": {"stock": -1, "available": -1}})

    report = await check_outside(cluster, staged, before)

    (failed,) = [c for c in report.checks if not c.passed]
    assert failed.name == "stock conservation"
    assert failed.violations[0].startswith("SALE-TV-0001:")


async def test_a_coupon_redeemed_behind_the_services_back_is_caught_from_outside(
    cluster: Cluster, staged: dict[str, Any]
) -> None:
    before = await read_baseline(cluster, staged)
    coupons = cluster.infras["coupon"].db["coupons"]
    await coupons.update_one({"code": "VIP25"}, {"$inc": {"redeemed": 1}})

    report = await check_outside(cluster, staged, before)

    (failed,) = [c for c in report.checks if not c.passed]
    assert failed.name == "coupon limits"
    assert "VIP25: counts 1 redeemed, 0 orders used it" in failed.violations
