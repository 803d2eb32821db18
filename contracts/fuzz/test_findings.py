"""Regression examples of faults fuzzing found: each replays its request against the gateway."""

from __future__ import annotations

import httpx

from contracts.fuzz.checks import graphql_server_faults
from contracts.fuzz.findings import (
    RESERVATION_TTL_UNDOCUMENTED,
    RESTOCK_PAST_THE_LIMIT,
    Finding,
    unexplained,
)
from contracts.harness.seeding import product
from contracts.harness.served import FAST_HASHING
from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Caller, Role
from estore.kit.transport import InProcessTransport
from estore.services.auth.service import AuthService

ADMIN = Caller(user_id="fuzz-admin", email="fuzz@example.com", roles=frozenset({Role.ADMIN}))


async def replay(finding: Finding) -> list[str]:
    """The server faults in the gateway's answer to the finding's request, sent by an admin."""
    cluster = Cluster(
        Wiring(), services=["gateway", *SERVICES["gateway"].dependencies], overrides=FAST_HASHING
    )
    await cluster.start()
    try:
        token = cluster.service("auth", AuthService).issuer.issue_access_token(ADMIN)
        transport = InProcessTransport(cluster.apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answer = await client.post(
                "/graphql", json=finding.request, headers={"Authorization": f"Bearer {token}"}
            )
        return graphql_server_faults(answer.json())
    finally:
        await cluster.stop()


async def test_restocking_past_the_stock_limit_is_refused_as_bad_input() -> None:
    # Fixed: the service validates the change (BAD_REQUEST) instead of failing on it.
    assert await replay(RESTOCK_PAST_THE_LIMIT) == []


async def test_the_reservation_ttl_limit_is_documented_and_honoured_up_to_it() -> None:
    # Fixed: the OpenAPI now states the maximum the service enforces, and the maximum itself
    # is accepted (the found request, past it, is a documented 422).
    cluster = Cluster(Wiring(), services=["product", "category"])
    await cluster.start()
    try:
        app = cluster.apps["product"]
        documented = app.openapi()["components"]["schemas"]["ReservationRequest"]
        ttl = documented["properties"]["ttl_seconds"]
        maxima = [t["maximum"] for t in [ttl, *ttl.get("anyOf", [])] if "maximum" in t]
        enforced = cluster.infras["product"].settings.reservation_max_ttl_seconds
        assert maxima == [enforced]
        assert RESERVATION_TTL_UNDOCUMENTED.request["ttl_seconds"] > enforced
        made = await product(cluster, stock=5)
        body = {
            "reservation_key": "ttl-at-the-limit",
            "ttl_seconds": enforced,
            "items": [{"product_id": made, "quantity": 1}],
        }
        signed = cluster.infras["product"].internal_identity.sign(ADMIN)
        async with httpx.AsyncClient(
            transport=InProcessTransport(app), base_url="http://product"
        ) as client:
            answer = await client.post(
                "/api/v1/reservations", json=body, headers={"X-Estore-Caller": signed}
            )
        assert answer.status_code == 201, answer.text
    finally:
        await cluster.stop()


def test_a_known_finding_is_left_out_of_a_fuzz_report_and_nothing_else_is() -> None:
    known = "Mutation.restockProduct: ... 1 validation error for StockChange ..."
    other = "Mutation.restockProduct: DOWNSTREAM_SERVICE_ERROR: timeout"
    elsewhere = "Query.orders: ... validation error for StockChange ..."
    assert unexplained([known, other, elsewhere], (RESTOCK_PAST_THE_LIMIT,)) == [other, elsewhere]
