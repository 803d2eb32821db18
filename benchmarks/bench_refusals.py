"""Benchmark script: what a refused hostile request costs, beside an ordinary catalog page.

Run: `PYTHONPATH=platform:. .venv/bin/python benchmarks/bench_refusals.py [--repeats 15]`.
One in-process cluster seeded with 2,000 products; every figure is the median of `--repeats`
requests through the gateway, in the same run as the ordinary request it is compared with:
the storefront's first catalog page (20 products). The requests of issue 17:
- the cost attack: 30 aliases of products(first: $n) { reviews(first: $m) }, n = m = 100
  sent as variables -> MAX_COST_EXCEEDED;
- bodies of 20 MB and 100 MB -> 413, in-process and served (the gateway on a loopback
  socket, so the client really writes its body before it reads the answer);
- previewCoupon with 100,000 items (a 6 MB body) -> 413, with 10,000 -> BAD_USER_INPUT;
- createOrder with 10,000 lines -> BAD_USER_INPUT;
- JSON nested 100,000 deep -> 400;
and what the body check adds to every request (BodyGuard around a bare ASGI app).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn

from estore.cluster import Cluster
from estore.kit.bodies import BodyGuard
from estore.kit.bootstrap import Wiring
from estore.seed import DEMO_USERS, seed
from loadtests.operations import CREATE_ORDER, PRODUCTS

FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}
MB = 1000 * 1000
ALIASES = 30
PAGES = " ".join(
    f"p{i}: products(first: $n) {{ nodes {{ id reviews(first: $m) {{ id }} }} }}"
    for i in range(ALIASES)
)
ATTACK = f"query Attack($n: Int!, $m: Int!) {{ {PAGES} }}"
PREVIEW = """query Preview($items: [CartItemInput!]!) {
  previewCoupon(code: "SAVE10", items: $items) { valid }
}"""
JSON_TYPE = {"content-type": "application/json"}


def _graphql(query: str, **variables: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def _cart(count: int) -> list[dict[str, Any]]:
    price = {"amount": 100, "currency": "EUR"}
    return [{"productId": f"p{n}", "quantity": 1, "unitPrice": price} for n in range(count)]


def _order(lines: int) -> dict[str, Any]:
    items = [{"productId": f"p{n}", "quantity": 1} for n in range(lines)]
    return {"items": items, "cardNumber": "4242424242424242", "idempotencyKey": "bench-lines"}


def _outcome(response: httpx.Response) -> str:
    if response.status_code != 200:
        return str(response.status_code)
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else "200"


async def _median_ms(
    send: Callable[[], Awaitable[httpx.Response]], repeats: int
) -> tuple[float, str]:
    outcome = _outcome(await send())  # warm the document and plan caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = await send()
        times.append(time.perf_counter() - started)
        assert _outcome(response) == outcome, response.text[:200]
    return statistics.median(times) * 1000, outcome


class _Served:
    """The cluster's gateway on a loopback port (its subgraph calls stay in-process)."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:  # uvicorn says so only by this flag
            if self.task.done():
                self.task.result()  # raises why it did not start
                raise RuntimeError("the gateway stopped before it served")
            await asyncio.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


async def _token(cluster: Cluster) -> str:
    customer = DEMO_USERS[0]
    async with cluster.client("auth") as auth:
        answer = await auth.post(
            "/api/v1/auth/login", json={"email": customer.email, "password": customer.password}
        )
    token: str = answer.json()["access_token"]
    return token


async def _requests(cluster: Cluster, repeats: int) -> list[tuple[str, float, str]]:
    token = await _token(cluster)
    bearer = {**JSON_TYPE, "Authorization": f"Bearer {token}"}
    cases = [
        ("catalog page, 20 products (ordinary)", _graphql(PRODUCTS, first=20), JSON_TYPE),
        ("cost attack, n = m = 100 as variables", _graphql(ATTACK, n=100, m=100), JSON_TYPE),
        ("20 MB body", b"x" * (20 * MB), JSON_TYPE),
        ("100 MB body", b"x" * (100 * MB), JSON_TYPE),
        ("previewCoupon, 100,000 items", _graphql(PREVIEW, items=_cart(100_000)), JSON_TYPE),
        ("previewCoupon, 10,000 items", _graphql(PREVIEW, items=_cart(10_000)), JSON_TYPE),
        ("createOrder, 10,000 lines", _graphql(CREATE_ORDER, input=_order(10_000)), bearer),
        ("JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, JSON_TYPE),
    ]
    rows = []
    async with cluster.client("gateway", timeout=60) as gateway:
        for label, body, headers in cases:
            median, outcome = await _median_ms(
                lambda body=body, headers=headers: gateway.post(  # type: ignore[misc]
                    "/graphql", content=body, headers=headers
                ),
                repeats,
            )
            rows.append((f"{label}, in-process", median, outcome))
            print(f"  {rows[-1][0]:58s} {median:9.2f} ms  {outcome}", flush=True)
    async with _Served(cluster.apps["gateway"]) as url, httpx.AsyncClient(timeout=60) as client:
        for size in (20, 100):
            body = b"x" * (size * MB)
            median, outcome = await _median_ms(
                lambda body=body: client.post(  # type: ignore[misc]
                    f"{url}/graphql", content=body, headers=JSON_TYPE
                ),
                max(3, repeats // 3),
            )
            rows.append((f"{size} MB body, served on loopback", median, outcome))
            print(f"  {rows[-1][0]:58s} {median:9.2f} ms  {outcome}", flush=True)
    return rows


async def _body_check_us(calls: int) -> float:
    """Microseconds BodyGuard adds to a request with a catalog-sized JSON body."""
    body = _graphql(PRODUCTS, first=20)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
    }

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        return None

    async def per_call(app: Any) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await app(scope, receive, send)
        return (time.perf_counter() - started) / calls

    guarded = BodyGuard(bare, object_paths={"/graphql"})
    samples = [await per_call(guarded) - await per_call(bare) for _ in range(5)]
    return statistics.median(samples) * 1e6


async def main(repeats: int) -> None:
    cluster = Cluster(Wiring(), overrides=FAST_HASHING)
    await cluster.start()
    try:
        await seed(cluster, products=2_000)
        print(f"refusals through the gateway, median of {repeats} (2,000 products seeded)")
        rows = await _requests(cluster, repeats)
    finally:
        await cluster.stop()
    page = rows[0][1]
    print("\nas a share of one catalog page:")
    for label, median, outcome in rows[1:]:
        print(f"  {label:58s} {median / page:8.2f} x  {outcome}")
    print(f"\nbody check per request (catalog-sized body): {await _body_check_us(20_000):.1f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    asyncio.run(main(parser.parse_args().repeats))
