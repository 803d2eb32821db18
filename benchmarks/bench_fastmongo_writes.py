"""Benchmark script: the checkout saga's writes on the fake Mongo, fast vs plain mongomock.

Run: `PYTHONPATH=platform:. .venv/bin/python benchmarks/bench_fastmongo_writes.py [--rounds 3]`.
One "saga" is what the order service writes per checkout: insert a saga document (steps,
datetimes, money as sub-documents), replace it whole nine times as its steps complete, insert
the order and its item, and `$inc` the stock of a product. Collections are pre-filled with
1,000 documents and carry the order service's indexes. Prints sagas per second of CPU time,
best of `--rounds`, on FastMongoClient and plain mongomock (`fast_paths=False`).
To compare two versions of the code side by side, run this same file with each version's
`platform` first on PYTHONPATH, alternating (`--json` prints the rates only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from estore.kit.fastmongo import FastMongoClient

PREFILLED = 1_000
SAGAS = 300
REPLACES_PER_SAGA = 9
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _saga(number: int, done: int) -> dict[str, Any]:
    steps = ["reserve", "redeem", "charge", "record", "confirm"]
    return {
        "_id": f"saga-{number}",
        "order_id": f"order-{number}",
        "status": "RUNNING" if done < len(steps) else "CONFIRMED",
        "steps": [
            {"name": name, "done": index < done, "at": T0 + timedelta(seconds=index)}
            for index, name in enumerate(steps)
        ],
        "compensations": [{"name": f"undo-{name}", "args": {"n": number}} for name in steps[:done]],
        "total": {"amount": 1_999, "currency": "EUR"},
        "lease": {"owner": "order-1", "until": T0 + timedelta(seconds=30)},
        "updated_at": T0 + timedelta(seconds=done),
    }


def _order(number: int) -> dict[str, Any]:
    return {
        "_id": f"order-{number}",
        "customer_id": f"customer-{number % 97}",
        "idempotency_key": f"key-{number}",
        "status": "CONFIRMED",
        "total": {"amount": 1_999, "currency": "EUR"},
        "created_at": T0,
    }


async def _collections(fast_paths: bool) -> tuple[Any, Any, Any, Any]:
    db = FastMongoClient(tz_aware=True, fast_paths=fast_paths)["order_db"]
    sagas, orders, items, products = db["sagas"], db["orders"], db["order_items"], db["products"]
    await orders.create_index([("customer_id", 1), ("idempotency_key", 1)], unique=True)
    await orders.create_index("customer_id")
    await items.create_index("order_id")
    await sagas.create_index("status")
    await products.create_index("sku", unique=True)
    for number in range(-PREFILLED, 0):
        await sagas.insert_one(_saga(number, 5))
        await orders.insert_one(_order(number))
        await items.insert_one({"order_id": f"order-{number}", "sku": "sku-1", "quantity": 1})
        await products.insert_one({"_id": f"p{number}", "sku": f"sku{number}", "stock": 10**6})
    return sagas, orders, items, products


async def _sagas_per_cpu_second(fast_paths: bool) -> float:
    sagas, orders, items, products = await _collections(fast_paths)
    started = time.process_time()
    for number in range(SAGAS):
        await sagas.insert_one(_saga(number, 0))
        for step in range(1, REPLACES_PER_SAGA + 1):
            await sagas.replace_one({"_id": f"saga-{number}"}, _saga(number, min(step, 5)))
        await orders.insert_one(_order(number))
        await items.insert_one({"order_id": f"order-{number}", "sku": "sku-1", "quantity": 1})
        await products.update_one({"_id": f"p{-1 - number % PREFILLED}"}, {"$inc": {"stock": -1}})
    return SAGAS / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    parser.add_argument("--no-plain", action="store_true", help="skip plain mongomock")
    parser.add_argument("--json", action="store_true", help="print the rates as JSON")
    args = parser.parse_args()
    rates = {
        "FastMongoClient": max(asyncio.run(_sagas_per_cpu_second(True)) for _ in range(args.rounds))
    }
    if not args.no_plain:
        rates["mongomock"] = max(
            asyncio.run(_sagas_per_cpu_second(False)) for _ in range(args.rounds)
        )
    if args.json:
        print(json.dumps(rates))
        return
    print("| client | saga writes per CPU second |")
    print("|---|---|")
    for client, rate in rates.items():
        print(f"| {client} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
