"""The serving process of a load run: the cluster on its ports, seeded and staged, with a
line protocol on stdin/stdout so the runner can ask for the invariant check after the load.

    python -m loadtests.serve --scenario sale_day [--ports auto]

Prints `@ready {"gateway_url": ..., "urls": ...}` once serving and seeded (the runner stages
the sale through the API); then answers `baseline` (the stores' state before the load) with
`@baseline {}`, `check` with `@report {...}` (the invariant report), and stops on `quit` or
end of input.
Locust never runs here: it patches sockets with gevent, and this process is asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

from estore.cluster import SERVICES, Cluster
from estore.kit.observability import configure_logging
from estore.kit.settings import SERVICE_PORTS
from estore.seed import seed
from loadtests import snapshot
from loadtests.invariants import evaluate
from loadtests.scenario import Scenario, load_scenario

READY = "@ready"
REPORT = "@report"
BASELINE = "@baseline"
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


async def serve(scenario: Scenario, auto_ports: bool) -> None:
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
        emit(READY, _ready(cluster))
        await _answer(cluster)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


def _ready(cluster: Cluster) -> dict[str, Any]:
    urls = {n: f"http://127.0.0.1:{i.settings.port}" for n, i in cluster.infras.items()}
    return {"gateway_url": gateway_url(cluster), "services": sorted(cluster.apps), "urls": urls}


async def _answer(cluster: Cluster) -> None:
    before = await snapshot.baseline(cluster)
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if line == "baseline":
            before = await snapshot.baseline(cluster)
            emit(BASELINE, {})
        elif line == "check":
            emit(REPORT, await check(cluster, before))
        elif line in ("quit", ""):
            return
        else:
            emit("@error", {"message": f"unknown command {line!r}; use baseline, check or quit"})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sale_day", help="name or path of the scenario")
    parser.add_argument("--ports", choices=["fixed", "auto"], default="fixed")
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=True)
    asyncio.run(serve(load_scenario(args.scenario), args.ports == "auto"))


if __name__ == "__main__":
    main()
