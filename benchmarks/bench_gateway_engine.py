"""The gateway engine's own CPU per request on our graph, two code versions side by side.

Run: .venv/bin/python benchmarks/bench_gateway_engine.py <platform-dir-A> <platform-dir-B> [n]
Each version runs in its own process (its `estore` first on the path), alternately, three
rounds each. A worker composes our five subgraphs, records their answers to the anonymous
parity queries once, then replays them: what it times (CPU seconds, so other load on the
machine does not count) is the gateway alone: cached document and plan, execution, merging,
shaping. Prints µs per request per query and version, best of the rounds, and the ratio B/A.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3


async def worker(n: int) -> dict[str, float]:
    from estore.cluster import Cluster
    from estore.gateway.fetcher import SDL_QUERY
    from estore.gateway.gateway import Gateway
    from estore.kit.testing import FAST_HASHING
    from estore.seed import seed
    from tests.parity.corpus import CASES

    subgraphs = ("auth", "product", "order", "category", "coupon")
    cluster = Cluster(services=[*subgraphs, "payment"], overrides=FAST_HASHING)
    await cluster.start()
    try:
        await seed(cluster, products=24)
        clients = {name: cluster.client(name) for name in subgraphs}

        class Recording:
            """Asks the real subgraph the first time, then answers from what it said."""

            def __init__(self) -> None:
                self.answers: dict[str, dict[str, Any]] = {}

            async def fetch(
                self, subgraph: str, query: str, variables: dict[str, Any], _: Mapping[str, str]
            ) -> dict[str, Any]:
                key = json.dumps([subgraph, query, variables], sort_keys=True)
                if key not in self.answers:
                    body = {"query": query, "variables": variables}
                    self.answers[key] = (await clients[subgraph].post("/graphql", json=body)).json()
                return self.answers[key]

        sdls = {}
        for name, client in clients.items():
            answer = await client.post("/graphql", json={"query": SDL_QUERY})
            sdls[name] = answer.json()["data"]["_service"]["sdl"]
        gateway = Gateway.from_sdls(sdls, Recording())
        timings: dict[str, float] = {}
        for label, case in CASES.items():
            if case.who != "anonymous" or not case.clean:
                continue
            await gateway.execute(case.query, case.variables)  # record, warm the caches
            started = time.process_time()
            for _ in range(n):
                await gateway.execute(case.query, case.variables)
            timings[label] = (time.process_time() - started) / n * 1e6
        for client in clients.values():
            await client.aclose()
        return timings
    finally:
        await cluster.stop()


def run_version(platform: str, n: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{platform}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(n)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    timings: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return timings


def main(first: str, second: str, n: int) -> None:
    best: dict[str, dict[str, float]] = {first: {}, second: {}}
    for round_number in range(1, ROUNDS + 1):
        for platform in (first, second):
            for label, micros in run_version(platform, n).items():
                previous = best[platform].get(label, float("inf"))
                best[platform][label] = min(previous, micros)
            print(f"round {round_number}: {platform} done", file=sys.stderr)
    print(f"{n} requests per query, best of {ROUNDS} rounds, CPU µs per request")
    print(f"A = {first}\nB = {second}")
    print(f"{'query':70s} {'A':>8s} {'B':>8s} {'B/A':>6s}")
    for label, a in best[first].items():
        b = best[second][label]
        print(f"{label[:70]:70s} {a:8.0f} {b:8.0f} {b / a:6.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "--worker":
        print(json.dumps(asyncio.run(worker(int(sys.argv[2])))))
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
