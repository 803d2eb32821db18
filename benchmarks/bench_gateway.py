"""Gateway throughput in-process: a `me` query and a two-subgraph query, against auth directly.

Run: .venv/bin/python benchmarks/bench_gateway.py [requests]
Every figure is for one event loop in one process (the in-process cluster, no sockets), so it
measures the gateway's own work plus the in-process hops, not a network.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx

from estore.cluster import Cluster
from estore.kit.identity import Role
from estore.services.auth.models import Registration
from estore.services.auth.service import AuthService

QUERIES = {
    "me (auth only)": "{ me { id name email } }",
    "me + orders (auth -> order)": "{ me { id name orders { id status } } }",
    "me + categories (auth, category)": "{ me { id } categories { id name } }",
}
CONCURRENCY = 8


async def rate(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], token: str, n: int
) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(20):  # warm the plan and document caches
        await client.post(path, json=body, headers=headers)
    per_worker = n // CONCURRENCY

    async def worker() -> None:
        for _ in range(per_worker):
            response = await client.post(path, json=body, headers=headers)
            assert response.status_code == 200 and "errors" not in response.json(), response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return per_worker * CONCURRENCY / (time.perf_counter() - started)


async def main(n: int) -> None:
    cluster = Cluster(
        services=["auth", "category", "order", "gateway"],
        overrides={
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            "gateway_subgraphs": "auth,category,order",
        },
    )
    await cluster.start()
    try:
        form = Registration(email="bench@example.com", password="long enough 1", name="Bench")
        pair = await cluster.service("auth", AuthService).register(form, roles=[Role.CUSTOMER])
        token = pair.access_token
        print(f"{n} requests each, {CONCURRENCY} concurrent, in-process")
        async with cluster.client("auth") as auth:
            direct = await rate(auth, "/graphql", {"query": QUERIES["me (auth only)"]}, token, n)
        print(f"  {'auth subgraph directly: me':42s} {direct:8.0f} req/s")
        async with cluster.client("gateway") as gateway:
            for label, query in QUERIES.items():
                per_second = await rate(gateway, "/graphql", {"query": query}, token, n)
                print(f"  {'gateway: ' + label:42s} {per_second:8.0f} req/s")
    finally:
        await cluster.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
