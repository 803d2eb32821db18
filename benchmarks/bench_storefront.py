"""Benchmark script: the storefront in one process — catalog pages, checkouts and memory.

Run: `PYTHONPATH=platform:. .venv/bin/python benchmarks/bench_storefront.py [--seconds 5]`.
The whole cluster runs in one event loop on the fake stores (the in-process mode), driven
through the gateway by 8 concurrent clients. Prints, side by side in one run:
- catalog pages/s (the storefront's first page: 20 newest products, cursor and price) at
  2,000 and at 100,000 products, on FastMongoClient and on plain mongomock
  (`fast_paths=False`; at 100,000 products plain mongomock is timed on a few pages only);
- checkout sagas/s through the gateway (`createOrder`, every one CONFIRMED);
- resident memory with 100,000 products and 100,000 orders (`--memory`, one store only).
Targets (issue 15): catalog ≥ 500/s at 2,000, at 100,000 ≥ 50% of that; checkout ≥ 300/s;
memory < 2 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import resource
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.stores import Stores
from estore.kit.testing import FAST_HASHING
from estore.seed import DEMO_USERS, seed
from loadtests.operations import CREATE_ORDER, PRODUCTS

CONCURRENCY = 8
SEEDED = 2_000
SIZES = (2_000, 100_000)
CATALOG = {"query": PRODUCTS, "variables": {"first": 20}}
BATCH = 5_000


async def _started(fast_paths: bool) -> Cluster:
    cluster = Cluster(Wiring(stores=Stores(fast_paths=fast_paths)), overrides=FAST_HASHING)
    await cluster.start()
    await seed(cluster, products=SEEDED)
    return cluster


async def _grow(collection: Any, size: int, renamed: Callable[[dict[str, Any], int], None]) -> None:
    """Clone the collection's documents (new ids, older dates) until it holds `size`."""
    originals = await collection.find({}).to_list(None)
    count = len(originals)
    batch: list[dict[str, Any]] = []
    for number in range(count, size):
        doc = copy.deepcopy(originals[number % len(originals)])
        renamed(doc, number)
        batch.append(doc)
        if len(batch) == BATCH:
            await collection.insert_many(batch)
            batch = []
    if batch:
        await collection.insert_many(batch)


def _cloned_product(doc: dict[str, Any], number: int) -> None:
    doc["_id"] = f"bench-product-{number}"
    doc["sku"] = f"BENCH-{number}"
    doc["created_at"] = doc["created_at"] - timedelta(minutes=number)


def _cloned_order(doc: dict[str, Any], number: int) -> None:
    doc["_id"] = f"bench-order-{number}"
    doc["idempotency_key"] = f"bench-{number}"


async def _products_db(cluster: Cluster) -> Any:
    return cluster.infras["product"].db["products"]


async def _rate(
    client: httpx.AsyncClient,
    body: Callable[[], dict[str, Any]],
    seconds: float,
    check: Callable[[dict[str, Any]], None],
    headers: dict[str, str] | None = None,
    minimum: int = CONCURRENCY,
) -> float:
    for _ in range(3):  # warm plans and documents
        check((await client.post("/graphql", json=body(), headers=headers)).json())
    done = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        while done < minimum or time.perf_counter() - started < seconds:
            answer = (await client.post("/graphql", json=body(), headers=headers)).json()
            check(answer)
            done += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


def _full_page(answer: dict[str, Any]) -> None:
    if "errors" in answer or len(answer["data"]["products"]["edges"]) != 20:
        raise RuntimeError(f"catalog page failed: {str(answer)[:300]}")


def _confirmed(answer: dict[str, Any]) -> None:
    if "errors" in answer or answer["data"]["createOrder"]["status"] != "CONFIRMED":
        raise RuntimeError(f"checkout failed: {str(answer)[:300]}")


async def _token(cluster: Cluster) -> str:
    customer = next(u for u in DEMO_USERS if u.role.value == "customer")
    async with cluster.client("auth") as auth:
        login = await auth.post(
            "/api/v1/auth/login", json={"email": customer.email, "password": customer.password}
        )
    token: str = login.json()["access_token"]
    return token


async def _checkout_rate(cluster: Cluster, gateway: httpx.AsyncClient, seconds: float) -> float:
    products = await _products_db(cluster)
    ids = [doc["_id"] for doc in await products.find({"stock": {"$gte": 50}}).to_list(None)]
    # Plenty of stock everywhere: the benchmark measures sagas, not sell-outs.
    await products.update_many({}, {"$inc": {"stock": 10**6, "available": 10**6}})
    keys = itertools.count()

    def body() -> dict[str, Any]:
        n = next(keys)
        line = {"productId": ids[n % len(ids)], "quantity": 1}
        return {
            "query": CREATE_ORDER,
            "variables": {
                "input": {
                    "items": [line],
                    "cardNumber": "4242424242424242",
                    "idempotencyKey": f"bench-{time.time_ns()}-{n}",
                }
            },
        }

    headers = {"Authorization": f"Bearer {await _token(cluster)}"}
    return await _rate(gateway, body, seconds, _confirmed, headers)


async def _catalog(fast_paths: bool, seconds: float) -> dict[str, float]:
    rates: dict[str, float] = {}
    cluster = await _started(fast_paths)
    try:
        async with cluster.client("gateway", timeout=600) as gateway:
            for size in SIZES:
                await _grow(await _products_db(cluster), size, _cloned_product)
                # Plain mongomock needs about a second a page at 100,000: time a few only.
                minimum = CONCURRENCY if fast_paths or size < 100_000 else 1
                time_box = seconds if minimum > 1 else 0.0
                rates[f"catalog {size}"] = await _rate(
                    gateway, lambda: CATALOG, time_box, _full_page, minimum=minimum
                )
            if fast_paths:
                rates["checkout"] = await _checkout_rate(cluster, gateway, seconds)
    finally:
        await cluster.stop()
    return rates


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _memory(seconds: float) -> list[str]:
    before = _rss_mib()
    cluster = await _started(True)
    try:
        async with cluster.client("gateway", timeout=600) as gateway:
            await _checkout_rate(cluster, gateway, min(seconds, 1.0))
            await _grow(await _products_db(cluster), 100_000, _cloned_product)
            await _grow(cluster.infras["order"].db["orders"], 100_000, _cloned_order)
            rate = await _rate(gateway, lambda: CATALOG, seconds, _full_page)
        return [f"{before:,.0f}", f"{_rss_mib():,.0f}", f"{rate:,.0f}"]
    finally:
        await cluster.stop()


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--memory", action="store_true", help="measure memory instead")
    parser.add_argument("--no-plain", action="store_true", help="skip plain mongomock")
    args = parser.parse_args()
    if args.memory:
        header = ["RSS MiB before", "RSS MiB, 100k products + 100k orders", "catalog pages/s"]
        _print_table(header, [asyncio.run(_memory(args.seconds))])
        return
    fast = asyncio.run(_catalog(True, args.seconds))
    plain = {} if args.no_plain else asyncio.run(_catalog(False, args.seconds))
    rows = []
    for name, rate in fast.items():
        other = plain.get(name)
        versus = f"{other:,.1f}" if other else "—"
        ratio = f"{rate / other:,.1f}x" if other else "—"
        rows.append([name, f"{rate:,.1f}", versus, ratio])
    _print_table(["through the gateway /s", "FastMongoClient", "mongomock", "fast ÷ plain"], rows)
    half = fast["catalog 100000"] / fast["catalog 2000"]
    print(f"\ncatalog rate at 100,000 products = {half:.0%} of the rate at 2,000")


if __name__ == "__main__":
    main()
