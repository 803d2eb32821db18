"""The served cluster over real sockets: every service answers on its own port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.testing import free_ports
from tests.served import serving

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
async def served(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    cluster = Cluster(Wiring(), served=True, ports=ports, overrides=fast_hashing)
    async with serving(cluster):
        yield cluster


async def test_every_service_is_healthy_on_its_port(served: Cluster) -> None:
    for name, infra in served.infras.items():
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{infra.settings.port}/health/ready")
        assert response.status_code == 200, (name, response.text)


async def test_a_customer_registers_and_logs_in_over_http(served: Cluster) -> None:
    async with served.client("auth") as auth:
        form = {"email": "e2e@example.com", "password": "long enough 1", "name": "E2E"}
        assert (await auth.post("/api/v1/auth/register", json=form)).status_code == 201
        login = await auth.post(
            "/api/v1/auth/login", json={"email": form["email"], "password": form["password"]}
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        me = await auth.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email"] == form["email"]


@pytest.mark.parametrize("megabytes", [20, 100])
async def test_an_oversized_body_over_a_socket_gets_its_413_not_a_reset(
    served: Cluster, megabytes: int
) -> None:
    async with served.client("gateway") as gateway:
        answer = await gateway.post(
            "/graphql",
            content=b"x" * (megabytes * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "too_large"
        after = await gateway.post("/graphql", json={"query": "{ __typename }"})
        assert after.json() == {"data": {"__typename": "Query"}}
