"""Answer parity: our gateway and Apollo Gateway give the same answers over the same subgraphs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from estore.cluster import Cluster
from estore.kit.testing import free_ports
from estore.seed import DEMO_USERS
from tests.parity.answers import CARD, ask, comparable, login, place_order
from tests.parity.conftest import graphql_url, subgraph_urls
from tests.parity.corpus import CASES
from tests.parity.reference import apollo_compose, apollo_gateway, fetch_sdls, signing_key_of

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
async def apollo(served: Cluster) -> AsyncIterator[str]:
    urls = subgraph_urls(served)
    composed = apollo_compose(await fetch_sdls(urls), urls)
    port = free_ports(1)[0]
    async with apollo_gateway(composed["supergraphSdl"], port, signing_key_of(served)) as url:
        yield url


@pytest.fixture(scope="module")
async def tokens(served: Cluster) -> dict[str, str | None]:
    """A bearer token per kind of caller (None: anonymous), once an order exists to query."""
    by_role = {user.role.value: user for user in DEMO_USERS}
    customer = by_role["customer"]
    admin = by_role["admin"]
    found: dict[str, str | None] = {
        "customer": await login(served, customer.email, customer.password),
        "admin": await login(served, admin.email, admin.password),
        "anonymous": None,
    }
    await place_order(served, found["customer"] or "", "parity-setup-1")
    return found


async def _checkout_variables(served: Cluster, key: str) -> dict[str, Any]:
    page = await ask(
        graphql_url(served, "gateway"), "{ products(first: 2, sort: NAME) { nodes { id } } }"
    )
    items = [{"productId": n["id"], "quantity": 1} for n in page["data"]["products"]["nodes"]]
    return {"input": {"items": items, "cardNumber": CARD, "idempotencyKey": key}}


@pytest.mark.parametrize("name", list(CASES))
async def test_both_gateways_give_the_same_answer_to(
    name: str, served: Cluster, apollo: str, tokens: dict[str, str | None]
) -> None:
    case = CASES[name]
    token = tokens[case.who]
    ours_vars, their_vars = case.variables, case.variables
    if case.checkout:  # each gateway places its own order: same cart, different keys
        ours_vars = await _checkout_variables(served, f"parity-ours-{name}")
        their_vars = await _checkout_variables(served, f"parity-apollo-{name}")
    ours = await ask(graphql_url(served, "gateway"), case.query, ours_vars, token)
    theirs = await ask(apollo, case.query, their_vars, token)
    assert comparable(ours) == comparable(theirs)
    assert bool(ours.get("errors")) != case.clean, ours
