"""The served cluster over real sockets: every service answers on its own port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
async def served(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    cluster = Cluster(Wiring(), served=True, ports=ports, overrides=fast_hashing)
    ready = asyncio.Event()
    task = asyncio.create_task(cluster.serve("127.0.0.1", ready))
    await asyncio.wait_for(ready.wait(), timeout=15)
    try:
        yield cluster
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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
