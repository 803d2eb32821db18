"""Benchmark script: find_one lookups/s and catalog-page latency, fast vs plain mongomock.

Run: `.venv/bin/python benchmarks/bench_fastmongo.py [--seconds 1.0]`. Prints two tables:
find_one by `_id` and by an indexed field, and update_one by `_id` (goal: a FastMongoClient
rate at 100,000 documents of at least half its rate at 100), and the storefront's catalog
page (a filter on a non-indexed field, sort by created_at desc then `_id`, limit 20, with the
product repository's indexes declared) in milliseconds per page.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mongomock_motor import AsyncMongoMockClient

from estore.kit.fastmongo import FastMongoClient

SIZES = (100, 10_000, 100_000)
# Plain mongomock scans: at 100,000 documents one lookup takes a quarter of a second or more.
PLAIN_SIZES = (100, 10_000)
SEED = 20_240_601
MIN_LOOKUPS = 20


def _order(number: int) -> dict[str, Any]:
    return {
        "_id": _order_id(number),
        "number": number,
        "customer": f"customer-{number % 997}",
        "status": "PAID",
        "items": [{"sku": f"sku-{number % 50}", "quantity": 1 + number % 3}],
        "total": {"amount": 1_000 + number, "currency": "EUR"},
    }


async def _filled_collection(client: Any, size: int) -> Any:
    collection = client["bench_db"]["orders"]
    batch = 10_000
    for start in range(0, size, batch):
        await collection.insert_many([_order(n) for n in range(start, min(size, start + batch))])
    # Declared after the load: plain mongomock checks a unique index on each insert by a scan,
    # which would make loading it quadratic.
    await collection.create_index("number", unique=True)
    return collection


async def _lookups_per_second(
    collection: Any, make_filter: Callable[[int], dict[str, Any]], size: int, seconds: float
) -> float:
    rng = random.Random(SEED)
    done = 0
    started = time.perf_counter()
    elapsed = 0.0
    while done < MIN_LOOKUPS or elapsed < seconds:
        found = await collection.find_one(make_filter(rng.randrange(size)))
        if found is None:
            raise RuntimeError("benchmark lookup missed a document it inserted")
        done += 1
        elapsed = time.perf_counter() - started
    return done / elapsed


async def _updates_per_second(
    collection: Any, update: dict[str, Any], size: int, seconds: float
) -> float:
    rng = random.Random(SEED)
    done = 0
    started = time.perf_counter()
    elapsed = 0.0
    while done < MIN_LOOKUPS or elapsed < seconds:
        result = await collection.update_one({"_id": _order_id(rng.randrange(size))}, update)
        if result.modified_count != 1:
            raise RuntimeError("benchmark update missed a document it inserted")
        done += 1
        elapsed = time.perf_counter() - started
    return done / elapsed


def _order_id(number: int) -> str:
    return f"order-{number:07d}"


async def _measure(client_name: str, client: Any, size: int, seconds: float) -> list[str]:
    started = time.perf_counter()
    collection = await _filled_collection(client, size)
    load_seconds = time.perf_counter() - started
    by_id = await _lookups_per_second(collection, lambda n: {"_id": _order_id(n)}, size, seconds)
    by_field = await _lookups_per_second(collection, lambda n: {"number": n}, size, seconds)
    updates = await _updates_per_second(collection, {"$inc": {"total.amount": 1}}, size, seconds)
    return [
        client_name,
        f"{size:,}",
        f"{by_id:,.0f}",
        f"{by_field:,.0f}",
        f"{updates:,.0f}",
        f"{load_seconds:.2f}",
    ]


async def _run(seconds: float) -> list[list[str]]:
    rows = []
    for size in SIZES:
        rows.append(await _measure("FastMongoClient", FastMongoClient(), size, seconds))
        if size in PLAIN_SIZES:
            rows.append(await _measure("mongomock", AsyncMongoMockClient(), size, seconds))
    return rows


CATALOG_SIZES = (2_000, 10_000, 100_000)
CATALOG_PLAIN_SIZES = (2_000, 10_000)
CATALOG_FILTER = {"$and": [{"available": {"$gt": 0}}]}
CATALOG_SORT = [("created_at", -1), ("_id", 1)]
CATALOG_SORT_INDEXES = ("created_at", "price.amount", "sold", "rating_avg", "name")
MIN_PAGES = 3


def _product(number: int, rng: random.Random) -> dict[str, Any]:
    return {
        "_id": f"product-{number:07d}",
        "name": f"Product {rng.randrange(1_000_000)}",
        "category_id": f"category-{number % 40}",
        "price": {"amount": rng.randrange(100, 100_000), "currency": "EUR"},
        "available": rng.randrange(0, 4),
        "sold": rng.randrange(1_000),
        "created_at": datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(10**6)),
        "description": "words " * 30,
        "images": [{"url": f"https://img/{number}/{i}.jpg", "alt": "photo"} for i in range(3)],
    }


async def _catalog_ms(client: Any, size: int, seconds: float) -> tuple[float, float]:
    collection = client["bench_db"]["products"]
    rng = random.Random(SEED)
    for start in range(0, size, 10_000):
        stop = min(size, start + 10_000)
        await collection.insert_many([_product(n, rng) for n in range(start, stop)])
    await collection.create_index("category_id")
    for field in CATALOG_SORT_INDEXES:  # as the product repository declares them
        await collection.create_index(field)
    pages = 0
    started = time.perf_counter()
    while pages < MIN_PAGES or time.perf_counter() - started < seconds:
        cursor = collection.find(CATALOG_FILTER).sort(CATALOG_SORT).limit(20)
        if len(await cursor.to_list(None)) != 20:
            raise RuntimeError("catalog page came back short")
        pages += 1
    page_ms = (time.perf_counter() - started) / pages * 1_000
    # A sale moves a sort key (sold): the write re-files the product in that index only.
    sold = {"$inc": {"sold": 1, "available": -1}}
    done = 0
    started = time.perf_counter()
    while done < MIN_LOOKUPS or time.perf_counter() - started < seconds:
        await collection.update_one({"_id": f"product-{rng.randrange(size):07d}"}, sold)
        done += 1
    return page_ms, done / (time.perf_counter() - started)


async def _run_catalog(seconds: float) -> list[list[str]]:
    rows = []
    for size in CATALOG_SIZES:
        # tz_aware as the services' clients: plain mongomock then converts every copy it makes.
        fast, fast_sales = await _catalog_ms(FastMongoClient(tz_aware=True), size, seconds)
        rows.append(["FastMongoClient", f"{size:,}", f"{fast:,.2f}", f"{fast_sales:,.0f}"])
        if size in CATALOG_PLAIN_SIZES:
            plain, sales = await _catalog_ms(AsyncMongoMockClient(tz_aware=True), size, seconds)
            rows.append(["mongomock", f"{size:,}", f"{plain:,.2f}", f"{sales:,.0f}"])
    return rows


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    lookups = [
        "client",
        "documents",
        "find_one _id /s",
        "find_one indexed field /s",
        "update_one _id /s",
        "load s",
    ]
    _print_table(lookups, asyncio.run(_run(args.seconds)))
    print()
    _print_table(
        ["client", "documents", "catalog page ms", "update_one sold /s"],
        asyncio.run(_run_catalog(args.seconds)),
    )


if __name__ == "__main__":
    main()
