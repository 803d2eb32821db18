"""Benchmark script: find_one lookups/s by `_id` and by an indexed field, fast vs plain mongomock.

Run: `.venv/bin/python benchmarks/bench_fastmongo.py [--seconds 1.0]`. Prints a table; the
goal is a FastMongoClient rate at 100,000 documents of at least half its rate at 100.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
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
        "_id": f"order-{number:07d}",
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


async def _measure(client_name: str, client: Any, size: int, seconds: float) -> list[str]:
    started = time.perf_counter()
    collection = await _filled_collection(client, size)
    load_seconds = time.perf_counter() - started
    by_id = await _lookups_per_second(
        collection, lambda n: {"_id": f"order-{n:07d}"}, size, seconds
    )
    by_field = await _lookups_per_second(collection, lambda n: {"number": n}, size, seconds)
    return [client_name, f"{size:,}", f"{by_id:,.0f}", f"{by_field:,.0f}", f"{load_seconds:.2f}"]


async def _run(seconds: float) -> list[list[str]]:
    rows = []
    for size in SIZES:
        rows.append(await _measure("FastMongoClient", FastMongoClient(), size, seconds))
        if size in PLAIN_SIZES:
            rows.append(await _measure("mongomock", AsyncMongoMockClient(), size, seconds))
    return rows


def _print_table(rows: list[list[str]]) -> None:
    header = ["client", "documents", "find_one _id /s", "find_one indexed field /s", "load s"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    _print_table(asyncio.run(_run(args.seconds)))


if __name__ == "__main__":
    main()
