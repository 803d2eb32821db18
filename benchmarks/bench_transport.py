"""Benchmark: what an in-process service hop costs against calling the ASGI app directly.

Run: .venv/bin/python benchmarks/bench_transport.py [--calls 3000] [--rounds 5]

Two routes on a bare FastAPI app (GET /ping, POST /echo with a small JSON body), each called
by every path below. Rounds interleave the paths so background load hits them alike; each
path's figure is its best round. Ratios are per-call cost relative to the direct call.

  direct            app(scope, receive, send), the scope built per call as a server would
  transport         InProcessTransport.handle_async_request; the httpx.Request built per call
                    as ServiceClient builds it (parsed URL reused, body already encoded)
  transport+request the same, the request built the usual way: httpx.Request(url_str, json=)
  client+inprocess  httpx.AsyncClient over InProcessTransport
  client+asgi       httpx.AsyncClient over httpx.ASGITransport
  service_client    ServiceClient over InProcessTransport: deadline, breaker, metrics, retry
  service_client*   the same with a fresh query string per call, so no parsed URL is reused
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from estore.kit.clients import ClientRegistry
from estore.kit.clock import SystemClock
from estore.kit.transport import InProcessTransport

Call = Callable[[], Awaitable[Any]]
BASE = "http://product"
PAYLOAD = {"sku": "SKU-0001", "quantity": 2, "tags": ["sale", "red"]}


class Item(BaseModel):
    sku: str
    quantity: int
    tags: list[str]


def build_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/echo")
    async def echo(item: Item) -> Item:
        return item

    return app


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    body: bytes


ROUTES = [
    Route("GET /ping", "GET", "/ping", b""),
    Route("POST /echo (JSON)", "POST", "/echo", json.dumps(PAYLOAD).encode()),
]


def direct_call(app: FastAPI, route: Route) -> Call:
    headers = [(b"host", b"product"), (b"accept", b"application/json")]
    if route.body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(route.body)).encode()),
        ]

    async def call() -> bytes:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": route.method,
            "scheme": "http",
            "path": route.path,
            "raw_path": route.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": list(headers),
            "server": ("product", 80),
            "client": ("127.0.0.1", 0),
        }
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": route.body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return b"".join(chunks)

    return call


def transport_call(transport: InProcessTransport, route: Route) -> Call:
    url = httpx.URL(BASE + route.path)
    headers = [("host", "product"), ("accept", "application/json")]
    if route.body:
        headers += [("content-type", "application/json"), ("content-length", str(len(route.body)))]

    async def call() -> Any:
        stream = httpx.ByteStream(route.body)
        request = httpx.Request(route.method, url, headers=headers, stream=stream)
        response = await transport.handle_async_request(request)
        return response.content

    return call


def transport_httpx_request_call(transport: InProcessTransport, route: Route) -> Call:
    kwargs: dict[str, Any] = {"json": PAYLOAD} if route.body else {}

    async def call() -> Any:
        request = httpx.Request(route.method, BASE + route.path, **kwargs)
        response = await transport.handle_async_request(request)
        return response.content

    return call


def client_call(client: httpx.AsyncClient, route: Route) -> Call:
    kwargs: dict[str, Any] = {"json": PAYLOAD} if route.body else {}

    async def call() -> Any:
        response = await client.request(route.method, route.path, **kwargs)
        return response.content

    return call


def service_call(clients: ClientRegistry, route: Route, fresh_url: bool) -> Call:
    client = clients["product"]
    body = PAYLOAD if route.body else None
    counter = iter(range(1 << 62))

    async def call() -> Any:
        params = {"n": next(counter)} if fresh_url else None
        response = await client.request(route.method, route.path, json=body, params=params)
        return response.content

    return call


async def measure(call: Call, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await call()
    return calls / (time.perf_counter() - start)


async def bench_route(route: Route, calls: int, rounds: int) -> dict[str, float]:
    app = build_app()
    inprocess = InProcessTransport(app)
    clients = ClientRegistry(
        {"product": (BASE, InProcessTransport(app))},
        clock=SystemClock(),
        registry=CollectorRegistry(),
    )
    async with (
        httpx.AsyncClient(transport=InProcessTransport(app), base_url=BASE) as via_inprocess,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as via_asgi,
    ):
        paths = {
            "direct": direct_call(app, route),
            "transport": transport_call(inprocess, route),
            "transport+request": transport_httpx_request_call(inprocess, route),
            "client+inprocess": client_call(via_inprocess, route),
            "client+asgi": client_call(via_asgi, route),
            "service_client": service_call(clients, route, fresh_url=False),
            "service_client*": service_call(clients, route, fresh_url=True),
        }
        best = dict.fromkeys(paths, 0.0)
        for call in paths.values():
            await measure(call, max(100, calls // 10))  # warm caches and code paths
        for _ in range(rounds):
            for name, call in paths.items():
                best[name] = max(best[name], await measure(call, calls))
    return best


def report(route: Route, best: dict[str, float]) -> None:
    direct = best["direct"]
    print(f"\n{route.name}")
    print(f"  {'path':<20}{'calls/s':>10}{'us/call':>10}{'x direct':>10}")
    for name, rate in best.items():
        print(f"  {name:<20}{rate:>10,.0f}{1e6 / rate:>10.1f}{direct / rate:>10.2f}")


async def main(calls: int, rounds: int) -> None:
    print(f"{calls} calls per round, best of {rounds} rounds")
    for route in ROUTES:
        report(route, await bench_route(route, calls, rounds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
