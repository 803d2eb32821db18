"""The authorisation matrix holds cell by cell, covers everything served, and catches faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio
from graphql import GraphQLSchema

from estore.cluster import Cluster
from estore.services.payment.merchant import require_merchant
from tests.authz import walker
from tests.authz.walker import Cell, MatrixError, Row, Target
from tests.authz.world import CALLERS, World, seed
from tests.conftest import FAST_HASHING

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The walk asks about rights, not speed: on a loaded machine no peer call may time out.
OVERRIDES = {**FAST_HASHING, "request_deadline_seconds": 60.0}
REFUNDS = Target("payment", "rest", "POST /api/v1/charges/{charge_id}/refunds")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def walked() -> AsyncIterator[tuple[World, list[Target], dict[str, GraphQLSchema]]]:
    cluster = Cluster(overrides=OVERRIDES)
    await cluster.start()
    try:
        world = await seed(cluster)
        served, graphs = await walker.discover(cluster)
        yield world, served, graphs
    finally:
        await cluster.stop()


def row(target: Target) -> Row:
    return next(r for r in walker.load() if r.target == target)


async def test_every_route_socket_field_and_entity_served_has_a_row(
    walked: tuple[World, list[Target], dict[str, GraphQLSchema]],
) -> None:
    _, served, _ = walked
    missing, stale = walker.coverage(walker.load(), served)
    assert not missing, "served without a row in matrix.toml:\n" + "\n".join(map(str, missing))
    assert not stale, "rows naming nothing served:\n" + "\n".join(map(str, stale))
    assert {t.kind for t in served} == set(walker.KINDS)


async def test_every_cell_answers_as_the_table_says(
    walked: tuple[World, list[Target], dict[str, GraphQLSchema]],
) -> None:
    world, _, graphs = walked
    wrong = await walker.walk(world, walker.load(), graphs)
    assert not wrong, "cells that answered otherwise:\n" + "\n".join(map(str, wrong))


async def test_a_cell_the_table_gets_wrong_is_reported_by_name(
    walked: tuple[World, list[Target], dict[str, GraphQLSchema]],
) -> None:
    world, _, graphs = walked
    refunds = row(REFUNDS)
    flipped = replace(refunds, expect={**refunds.expect, "customer": "ok"})
    assert await walker.walk(world, [flipped], graphs) == [Cell(REFUNDS, "customer", "ok", "401")]


async def test_a_route_opened_to_everyone_is_reported_at_each_cell_it_opened(
    walked: tuple[World, list[Target], dict[str, GraphQLSchema]],
) -> None:
    world, _, graphs = walked
    payment = world.cluster.apps["payment"]
    payment.dependency_overrides[require_merchant] = lambda: None
    try:
        wrong = await walker.walk(world, [row(REFUNDS)], graphs)
    finally:
        payment.dependency_overrides.clear()
    assert wrong == [Cell(REFUNDS, caller, "401", "ok") for caller in CALLERS]


async def test_a_new_route_without_a_row_fails_the_coverage_check() -> None:
    cluster = Cluster(services=["coupon"])

    async def backdoor() -> dict[str, str]:
        return {}

    cluster.apps["coupon"].add_api_route("/api/v1/backdoor", backdoor, methods=["DELETE"])
    rows = [r for r in walker.load() if r.target.app == "coupon" and r.target.kind == "rest"]
    served = [t for t in walker.rest_targets(cluster) if t.kind == "rest"]
    missing, stale = walker.coverage(rows, served)
    assert missing == [Target("coupon", "rest", "DELETE /api/v1/backdoor")]
    assert stale == []


@pytest.mark.parametrize(
    ("expect", "complaint"),
    [
        ({"all": 500}, "neither ok nor a refusal"),
        ({"all": "CONFLICT"}, "neither ok nor a refusal"),
        ({"anonymous": 401}, "no cell for caller 'gateway'"),
        ({"all": "ok", "hacker": 401}, "unknown callers ['hacker']"),
    ],
)
async def test_a_row_must_name_every_caller_and_only_real_refusals(
    expect: dict[str, object], complaint: str
) -> None:
    table = {"rest": [{"app": "auth", "route": "GET /health", "expect": expect}]}
    with pytest.raises(MatrixError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        walker.rows_of(table)


async def test_a_broken_query_or_a_crash_never_counts_as_allowed_or_refused() -> None:
    invalid = [
        {"message": "Cannot query field", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    ]
    assert walker.errors_outcome(invalid).startswith("broken GRAPHQL_VALIDATION_FAILED")
    assert walker.errors_outcome([{"message": "boom"}]).startswith("broken None")
    assert walker.errors_outcome([{"message": "x", "extensions": {"code": "CONFLICT"}}]) == "ok"
    assert walker.errors_outcome([{"message": "x", "extensions": {"code": "FORBIDDEN"}}]) == (
        "FORBIDDEN"
    )
