"""Our gateway against Apollo Gateway on the same served subgraphs: throughput and latency.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_gateway_vs_apollo.py [seconds] [concurrency]
Needs `npm ci --prefix tests/parity` (Apollo Gateway). Everything listens on 127.0.0.1.

Three processes besides Apollo's: the subgraphs (auth, product, category, coupon, payment,
order on one event loop, seeded fake stores), our gateway alone in its own process, and the
load driver, so neither gateway shares an event loop with the subgraphs or the client. Each
case runs for a fixed time at fixed concurrency; a request counts as an error unless it is a
200 without GraphQL errors (and, for checkout, a CONFIRMED order).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.testing import FAST_HASHING, free_ports
from estore.seed import DEMO_USERS, seed
from tests.parity.reference import apollo_compose, apollo_gateway, fetch_sdls, missing_reference
from tests.served import serving

SUBGRAPH_SERVICES = ("auth", "product", "category", "coupon", "payment", "order")
SUBGRAPHS = ("auth", "product", "order", "category", "coupon")
PRODUCTS = 200
ROUNDS = 5
CATALOG_PAGE = """query CatalogPage { products(first: 20, sort: NAME) { totalCount
  nodes { id name price { amount formatted } inStock rating category { name slug } } } }"""
CATALOG_LOCAL = """query CatalogLocal { products(first: 20, sort: NAME) { totalCount
  nodes { id name price { amount formatted } inStock rating category { id } } } }"""
CHECKOUT = """mutation Checkout($input: CreateOrderInput!) {
  createOrder(input: $input) { id status total { amount } } }"""


@dataclass(frozen=True)
class Case:
    label: str
    target: str  # "ours", "apollo" or a subgraph name
    query: str
    checkout: bool = False


CASES = (
    Case("catalog page (product + category)", "ours", CATALOG_PAGE),
    Case("catalog page (product + category)", "apollo", CATALOG_PAGE),
    Case("catalog page, product fields only", "ours", CATALOG_LOCAL),
    Case("catalog page, product fields only", "apollo", CATALOG_LOCAL),
    Case("catalog page, product fields only", "product", CATALOG_LOCAL),
    Case("checkout (createOrder)", "ours", CHECKOUT, checkout=True),
    Case("checkout (createOrder)", "apollo", CHECKOUT, checkout=True),
    Case("checkout (createOrder)", "order", CHECKOUT, checkout=True),
)


def _drive(
    url: str, case: Case, token: str, products: list[str], seconds: float, concurrency: int
) -> dict[str, Any]:
    """The load driver, in its own process: `concurrency` loops for `seconds`."""
    return asyncio.run(_load(url, case, token, products, seconds, concurrency))


async def _load(
    url: str, case: Case, token: str, products: list[str], seconds: float, concurrency: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    keys = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []

    def body() -> dict[str, Any]:
        if not case.checkout:
            return {"query": case.query}
        n = next(keys)
        line = {"productId": products[n % len(products)], "quantity": 1}
        key = f"bench-{case.target}-{time.time_ns()}-{n}"
        return {
            "query": case.query,
            "variables": {
                "input": {"items": [line], "cardNumber": "4242424242424242", "idempotencyKey": key}
            },
        }

    async def worker(client: httpx.AsyncClient, until: float) -> None:
        while time.perf_counter() < until:
            started = time.perf_counter()
            response = await client.post(url, json=body(), headers=headers)
            latencies.append(time.perf_counter() - started)
            problem = _problem(response, case)
            if problem:
                errors.append(problem)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for _ in range(5):  # warm plans, caches and connections
            await client.post(url, json=body(), headers=headers)
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(worker(client, until) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def _problem(response: httpx.Response, case: Case) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    answer = response.json()
    if answer.get("errors"):
        return str(answer["errors"][0].get("message"))[:120]
    if case.checkout and answer["data"]["createOrder"]["status"] != "CONFIRMED":
        return f"order {answer['data']['createOrder']['status']}"
    return None


def _serve_gateway(port: int, overrides: dict[str, Any], ready: Any) -> None:
    """Our gateway alone in this process, over the subgraphs' URLs, until terminated."""

    async def run() -> None:
        cluster = Cluster(
            Wiring(),
            services=["gateway"],
            served=True,
            ports={"gateway": port},
            overrides=overrides,
        )
        async with serving(cluster):
            ready.set()
            await asyncio.Event().wait()

    asyncio.run(run())


def _row(case: Case, result: dict[str, Any]) -> str:
    latencies = sorted(result["latencies"])
    done = len(latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p95 = latencies[int(0.95 * (done - 1))] * 1000 if latencies else float("nan")
    rate = done / result["elapsed"]
    errors = len(result["errors"])
    return (
        f"| {case.label:34s} | {case.target:7s} | {rate:8.1f} | {p50:7.1f} | {p95:7.1f} "
        f"| {done:6d} | {errors:5d} |"
    )


async def _customer_token(cluster: Cluster) -> str:
    """Seeds the subgraphs, then logs the demo customer in."""
    await seed(cluster, products=PRODUCTS)
    customer = next(u for u in DEMO_USERS if u.role.value == "customer")
    async with cluster.client("auth") as auth:
        login = await auth.post(
            "/api/v1/auth/login", json={"email": customer.email, "password": customer.password}
        )
    token: str = login.json()["access_token"]
    return token


async def main(seconds: float, concurrency: int) -> None:
    reason = missing_reference()
    if reason:
        raise SystemExit(reason)
    ports = dict(zip(SUBGRAPH_SERVICES, free_ports(len(SUBGRAPH_SERVICES)), strict=True))
    subgraphs = Cluster(
        Wiring(), services=SUBGRAPH_SERVICES, served=True, ports=ports, overrides=FAST_HASHING
    )
    async with serving(subgraphs):
        token = await _customer_token(subgraphs)
        urls = {n: f"http://127.0.0.1:{ports[n]}/graphql" for n in SUBGRAPHS}
        products = await _in_stock(urls["product"])
        sdls = await fetch_sdls(urls)
        composed = apollo_compose(sdls, urls)
        ours_port, apollo_port = free_ports(2)
        spawn = multiprocessing.get_context("spawn")
        with tempfile.TemporaryDirectory() as folder:
            sdl_file = Path(folder) / "sdls.json"
            sdl_file.write_text(json.dumps(sdls), encoding="utf-8")
            signing = subgraphs.infras["auth"].settings.internal_signing_key
            assert signing is not None
            overrides = {
                **{f"{n}_service_url": f"http://127.0.0.1:{ports[n]}" for n in SUBGRAPHS},
                "gateway_supergraph_file": str(sdl_file),
                "internal_signing_key": signing.get_secret_value(),
            }
            ready = spawn.Event()
            ours = spawn.Process(target=_serve_gateway, args=(ours_port, overrides, ready))
            ours.start()
            try:
                await asyncio.to_thread(ready.wait, 60)
                key = signing.get_secret_value()
                async with apollo_gateway(composed["supergraphSdl"], apollo_port, key) as apollo:
                    targets = {
                        "ours": f"http://127.0.0.1:{ours_port}/graphql",
                        "apollo": apollo,
                        **urls,
                    }
                    await _run_cases(targets, token, products, seconds, concurrency, spawn)
            finally:
                ours.terminate()
                ours.join(10)


async def _in_stock(product_url: str) -> list[str]:
    """Products with enough stock that checkouts spread over them do not run out."""
    async with httpx.AsyncClient() as client:
        page = await client.post(
            product_url,
            json={
                "query": "{ products(first: 100, filter: {inStock: true}, sort: POPULAR) "
                "{ nodes { id stock } } }"
            },
        )
    nodes = page.json()["data"]["products"]["nodes"]
    return [n["id"] for n in nodes if n["stock"] >= 50]


async def _run_cases(
    targets: dict[str, str],
    token: str,
    products: list[str],
    seconds: float,
    concurrency: int,
    spawn: Any,
) -> None:
    """Targets of one case take turns in short slices: checkouts grow the order store (which
    fake Mongo scans), so running them one after another would favour whoever went first."""
    print(
        f"{seconds:g} s per case in {ROUNDS} interleaved slices, {concurrency} concurrent "
        "clients, loopback, fake stores"
    )
    print(
        "| case                               | through | req/s    | p50 ms  | p95 ms  "
        "| done   | errs  |"
    )
    print(
        "|------------------------------------|---------|----------|---------|---------"
        "|--------|-------|"
    )
    results: dict[Case, dict[str, Any]] = {}
    with spawn.Pool(1) as pool:
        for label in dict.fromkeys(case.label for case in CASES):
            group = [case for case in CASES if case.label == label]
            for _ in range(ROUNDS):
                for case in group:
                    args = (
                        targets[case.target],
                        case,
                        token,
                        products,
                        seconds / ROUNDS,
                        concurrency,
                    )
                    part = await asyncio.to_thread(pool.apply, _drive, args)
                    total = results.setdefault(
                        case, {"latencies": [], "errors": [], "elapsed": 0.0}
                    )
                    for key in ("latencies", "errors"):
                        total[key].extend(part[key])
                    total["elapsed"] += part["elapsed"]
            for case in group:
                print(_row(case, results[case]), flush=True)
                if results[case]["errors"]:
                    print(f"|   first error: {results[case]['errors'][0]}")


if __name__ == "__main__":
    asyncio.run(
        main(
            float(sys.argv[1]) if len(sys.argv) > 1 else 8.0,
            int(sys.argv[2]) if len(sys.argv) > 2 else 8,
        )
    )
