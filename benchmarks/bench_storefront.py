"""Benchmark script: the storefront in one process — catalog pages, product pages, checkouts.

Run: `PYTHONPATH=platform:. .venv/bin/python benchmarks/bench_storefront.py [--seconds 5]`.
The whole cluster runs in one event loop on the fake stores (the in-process mode), driven
through the gateway by 8 concurrent clients. Prints, side by side in one run:
- catalog pages/s (the storefront's first page: 20 newest products, cursor and price) at
  2,000 and at 100,000 products, through the gateway and sent to the product subgraph
  directly, on FastMongoClient and on plain mongomock (`fast_paths=False`; at 100,000
  products plain mongomock is timed on a few pages only);
- product pages/s through the gateway (product, its category from the category subgraph,
  five reviews);
- checkout sagas/s through the gateway (`createOrder`, every one CONFIRMED);
- resident memory, now and at its peak, with 100,000 products and 100,000 orders (`--memory`,
  one store only; target < 2 GiB).
Rates are requests per second of this process's CPU time, with the wall-clock rate beside
them in parentheses: the machine is shared, and CPU time is what the code costs; on an idle
core the two agree. `--json` prints the CPU rates only (bench_versions.py reads them),
`--sizes` picks the catalog sizes.
`--profile DIR` instead runs each case one request at a time under cProfile (2,000 products)
and writes the summaries (cumulative and own time) to DIR/<case>.txt.
Targets (issue 15): catalog ≥ 500/s at 2,000, at 100,000 ≥ 50% of that; checkout ≥ 300/s;
the gateway adds ≤ 25% to the subgraph's own cost; memory < 2 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import cProfile
import io
import itertools
import json
import pstats
import resource
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.stores import Stores
from estore.kit.testing import FAST_HASHING
from estore.seed import DEMO_USERS, seed
from loadtests.operations import CREATE_ORDER, PRODUCT, PRODUCTS

CONCURRENCY = 8
SEEDED = 2_000
SIZES = (2_000, 100_000)
CATALOG = {"query": PRODUCTS, "variables": {"first": 20}}
BATCH = 5_000
PROFILED = 200
PROFILE_LINES = 60


class Rate(NamedTuple):
    """Requests per second of this process's CPU time, and per second of wall time."""

    cpu: float
    wall: float

    def __str__(self) -> str:
        return f"{self.cpu:,.1f} ({self.wall:,.1f})"


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
) -> Rate:
    for _ in range(3):  # warm plans and documents
        check((await client.post("/graphql", json=body(), headers=headers)).json())
    done = 0
    started, cpu_started = time.perf_counter(), time.process_time()

    async def worker() -> None:
        nonlocal done
        while done < minimum or time.perf_counter() - started < seconds:
            answer = (await client.post("/graphql", json=body(), headers=headers)).json()
            check(answer)
            done += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    cpu = time.process_time() - cpu_started
    return Rate(done / cpu, done / (time.perf_counter() - started))


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


async def _checkout_body(cluster: Cluster) -> Callable[[], dict[str, Any]]:
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

    return body


async def _checkout_rate(cluster: Cluster, gateway: httpx.AsyncClient, seconds: float) -> Rate:
    body = await _checkout_body(cluster)
    headers = {"Authorization": f"Bearer {await _token(cluster)}"}
    return await _rate(gateway, body, seconds, _confirmed, headers)


def _product_page(product_id: str) -> Callable[[], dict[str, Any]]:
    body = {"query": PRODUCT, "variables": {"id": product_id}}
    return lambda: body


def _found(answer: dict[str, Any]) -> None:
    if "errors" in answer or not answer["data"]["product"]["category"]:
        raise RuntimeError(f"product page failed: {str(answer)[:300]}")


async def _page_rates(
    cluster: Cluster, gateway: httpx.AsyncClient, size: int, minimum: int, seconds: float
) -> dict[str, Rate]:
    product_id = (await (await _products_db(cluster)).find_one({}))["_id"]
    async with cluster.client("product", timeout=600) as product:
        direct = await _rate(product, lambda: CATALOG, seconds, _full_page, minimum=minimum)
    return {
        f"catalog {size}": await _rate(
            gateway, lambda: CATALOG, seconds, _full_page, minimum=minimum
        ),
        f"catalog {size}, product subgraph directly": direct,
        f"product page {size}": await _rate(
            gateway, _product_page(product_id), seconds, _found, minimum=minimum
        ),
    }


async def _catalog(fast_paths: bool, seconds: float, sizes: list[int]) -> dict[str, Rate]:
    rates: dict[str, Rate] = {}
    cluster = await _started(fast_paths)
    try:
        async with cluster.client("gateway", timeout=600) as gateway:
            for size in sizes:
                await _grow(await _products_db(cluster), size, _cloned_product)
                # Plain mongomock needs about a second a page at 100,000: time a few only.
                minimum = CONCURRENCY if fast_paths or size < 100_000 else 1
                time_box = seconds if minimum > 1 else 0.0
                rates.update(await _page_rates(cluster, gateway, size, minimum, time_box))
            if fast_paths:
                rates["checkout"] = await _checkout_rate(cluster, gateway, seconds)
    finally:
        await cluster.stop()
    return rates


async def _profile(
    client: httpx.AsyncClient,
    body: Callable[[], dict[str, Any]],
    check: Callable[[dict[str, Any]], None],
    headers: dict[str, str] | None = None,
) -> str:
    """PROFILED requests one at a time under cProfile: the rate, then where the time went."""
    for _ in range(3):
        check((await client.post("/graphql", json=body(), headers=headers)).json())
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with profiler:
        for _ in range(PROFILED):
            check((await client.post("/graphql", json=body(), headers=headers)).json())
    rate = PROFILED / (time.perf_counter() - started)
    out = io.StringIO()
    out.write(f"{PROFILED} requests one at a time under cProfile: {rate:,.1f}/s\n")
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    return out.getvalue()


async def _profiles() -> dict[str, str]:
    cluster = await _started(True)
    try:
        product_id = (await (await _products_db(cluster)).find_one({}))["_id"]
        headers = {"Authorization": f"Bearer {await _token(cluster)}"}
        async with cluster.client("gateway", timeout=600) as gateway:
            async with cluster.client("product", timeout=600) as product:
                summaries = {
                    "catalog-gateway": await _profile(gateway, lambda: CATALOG, _full_page),
                    "catalog-subgraph": await _profile(product, lambda: CATALOG, _full_page),
                    "product-page": await _profile(gateway, _product_page(product_id), _found),
                    "checkout": await _profile(
                        gateway, await _checkout_body(cluster), _confirmed, headers
                    ),
                }
    finally:
        await cluster.stop()
    return summaries


def _write_profiles(directory: Path, summaries: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for case, summary in summaries.items():
        path = directory / f"{case}.txt"
        path.write_text(summary, encoding="utf-8")
        print(f"{case}: {summary.splitlines()[0]} -> {path}")


def _rss_mib(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak so far (VmHWM), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
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
        return [f"{before:,.0f}", f"{_rss_mib():,.0f}", f"{_rss_mib('VmHWM'):,.0f}", str(rate)]
    finally:
        await cluster.stop()


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _print_rates(fast: dict[str, Rate], plain: dict[str, Rate], sizes: list[int]) -> None:
    rows = []
    for name, rate in fast.items():
        other = plain.get(name)
        versus = str(other) if other else "—"
        ratio = f"{rate.cpu / other.cpu:,.1f}x" if other else "—"
        rows.append([name, str(rate), versus, ratio])
    header = ["per CPU second (per wall second)", "FastMongoClient", "mongomock", "fast ÷ plain"]
    _print_table(header, rows)
    if len(sizes) > 1:
        share = fast[f"catalog {sizes[-1]}"].cpu / fast[f"catalog {sizes[0]}"].cpu
        print(f"\ncatalog rate at {sizes[-1]:,} products = {share:.0%} of the rate at {sizes[0]:,}")
    for size in sizes:
        direct = fast[f"catalog {size}, product subgraph directly"].cpu
        added = direct / fast[f"catalog {size}"].cpu - 1
        print(f"the gateway adds {added:.0%} to the catalog page's cost at {size:,} products")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--memory", action="store_true", help="measure memory instead")
    parser.add_argument("--no-plain", action="store_true", help="skip plain mongomock")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="write cProfile summaries")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="catalog sizes")
    parser.add_argument("--json", action="store_true", help="print the CPU rates as JSON")
    args = parser.parse_args()
    if args.profile:
        _write_profiles(args.profile, asyncio.run(_profiles()))
        return
    if args.memory:
        header = [
            "RSS MiB before",
            "RSS MiB, 100k products + 100k orders",
            "peak RSS MiB",
            "catalog pages/s",
        ]
        _print_table(header, [asyncio.run(_memory(args.seconds))])
        return
    sizes = sorted(int(size) for size in args.sizes.split(","))
    fast = asyncio.run(_catalog(True, args.seconds, sizes))
    if args.json:
        print(json.dumps({name: rate.cpu for name, rate in fast.items()}))
        return
    plain = {} if args.no_plain else asyncio.run(_catalog(False, args.seconds, sizes))
    _print_rates(fast, plain, sizes)


if __name__ == "__main__":
    main()
