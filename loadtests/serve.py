"""The serving process of a load run: the cluster on its ports, seeded and staged, with a
line protocol on stdin/stdout so the runner can ask for the invariant check after the load.

    python -m loadtests.serve --scenario sale_day [--ports auto] --fixtures FILE

Prints `@ready {"gateway_url": ...}` once serving; then answers `check` with
`@report {...}` (the invariant report) and stops on `quit` or end of input.
Locust never runs here: it patches sockets with gevent, and this process is asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

from estore.cluster import SERVICES, Cluster
from estore.kit.observability import configure_logging
from estore.kit.settings import SERVICE_PORTS
from estore.seed import seed
from loadtests import snapshot
from loadtests.invariants import evaluate
from loadtests.scenario import Scenario, load_scenario
from loadtests.stage import stage

READY = "@ready"
REPORT = "@report"
START_TIMEOUT_S = 60.0


def free_ports(names: list[str]) -> dict[str, int]:
    sockets = [socket.socket() for _ in names]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = {name: s.getsockname()[1] for name, s in zip(names, sockets, strict=True)}
    for s in sockets:
        s.close()
    return ports


def build_cluster(scenario: Scenario, auto_ports: bool) -> Cluster:
    names = list(SERVICES)
    ports = free_ports(names) if auto_ports else {n: SERVICE_PORTS[n] for n in names}
    return Cluster(served=True, ports=ports, overrides=scenario.server)


def gateway_url(cluster: Cluster) -> str:
    return f"http://127.0.0.1:{cluster.infras['gateway'].settings.port}"


def emit(tag: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(f"{tag} {json.dumps(payload, default=str)}\n")
    sys.stdout.flush()


async def check(cluster: Cluster, before: snapshot.Baseline) -> dict[str, Any]:
    settled = await snapshot.settle(cluster)
    report = evaluate(await snapshot.snapshot(cluster, before))
    return {"settled": settled, **report.model_dump()}


async def serve(scenario: Scenario, fixtures_path: Path, auto_ports: bool) -> None:
    cluster = build_cluster(scenario, auto_ports)
    ready = asyncio.Event()
    serving = asyncio.create_task(cluster.serve("127.0.0.1", ready))
    async with asyncio.timeout(START_TIMEOUT_S):
        await asyncio.wait(
            [serving, asyncio.create_task(ready.wait())], return_when="FIRST_COMPLETED"
        )
    if serving.done():
        serving.result()
        raise SystemExit("the cluster stopped during start-up")
    try:
        await seed(cluster, products=scenario.catalog_products)
        fixtures = await stage(cluster, scenario, gateway_url(cluster))
        await asyncio.to_thread(_write, fixtures_path, fixtures)
        before = await snapshot.baseline(cluster)
        emit(READY, {key: fixtures[key] for key in ("gateway_url", "services", "api")})
        await _answer(cluster, before)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


def _write(path: Path, fixtures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixtures, indent=2))


async def _answer(cluster: Cluster, before: snapshot.Baseline) -> None:
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if line == "check":
            emit(REPORT, await check(cluster, before))
        elif line in ("quit", ""):
            return
        else:
            emit("@error", {"message": f"unknown command {line!r}; use check or quit"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sale_day", help="name or path of the scenario")
    parser.add_argument("--fixtures", type=Path, required=True, help="where to write fixtures")
    parser.add_argument("--ports", choices=["fixed", "auto"], default="fixed")
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=True)
    asyncio.run(serve(load_scenario(args.scenario), args.fixtures, args.ports == "auto"))


if __name__ == "__main__":
    main()
