"""Login limits through the gateway and over REST: the attacker's client waits, the owner not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.clock import FakeClock
from estore.kit.transport import InProcessTransport
from tests.conftest import FAST_HASHING
from tests.integration.gateway.service_helpers import PASSWORD, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

EMAIL = "owner@example.com"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    # A clock nobody moves: a wait once imposed is still running when the test looks at it.
    built = Cluster(
        Wiring(clock=FakeClock()),
        services=["auth", "gateway"],
        overrides={**FAST_HASHING, "gateway_subgraphs": "auth"},
    )
    await built.start()
    try:
        yield built
    finally:
        await built.stop()


@pytest.fixture
async def world(cluster: Cluster) -> Cluster:
    await cluster.reset()
    async with cluster.client("auth") as auth:
        form = {"email": EMAIL, "password": PASSWORD, "name": "Owner"}
        assert (await auth.post("/api/v1/auth/register", json=form)).status_code == 201
    return cluster


def from_address(cluster: Cluster, service: str, address: str) -> httpx.AsyncClient:
    transport = InProcessTransport(cluster.apps[service], client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{service}")


async def test_a_limited_login_through_the_gateway_says_when_to_retry_and_the_owner_gets_in(
    world: Cluster,
) -> None:
    async with from_address(world, "gateway", ATTACKER) as attacker:
        for _ in range(5):
            wrong = await graphql(attacker, LOGIN, {"e": EMAIL, "p": "not the password"})
            assert wrong.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
        limited = await graphql(attacker, LOGIN, {"e": EMAIL, "p": PASSWORD})
    error = limited.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] > 0
    assert limited.headers["retry-after"] == str(error["extensions"]["retryAfter"])
    async with from_address(world, "gateway", OWNER) as owner:
        answer = await graphql(owner, LOGIN, {"e": EMAIL, "p": PASSWORD})
    assert answer.json()["data"]["login"]["accessToken"]
    assert "retry-after" not in answer.headers


async def test_a_limited_rest_login_is_429_with_retry_after_and_the_owner_gets_in(
    world: Cluster,
) -> None:
    wrong = {"email": EMAIL, "password": "not the password"}
    right = {"email": EMAIL, "password": PASSWORD}
    async with from_address(world, "auth", ATTACKER) as attacker:
        tries = [
            (await attacker.post("/api/v1/auth/login", json=wrong)).status_code for _ in range(6)
        ]
        assert tries == [401] * 5 + [429]
        limited = await attacker.post("/api/v1/auth/login", json=right)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["error"]["code"] == "rate_limited"
    async with from_address(world, "auth", OWNER) as owner:
        assert (await owner.post("/api/v1/auth/login", json=right)).status_code == 200
