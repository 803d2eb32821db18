"""The serving process of a load run: the cluster on its ports, seeded and staged, with a
line protocol on stdin/stdout so the runner can ask for the invariant check after the load.

    python -m loadtests.serve --scenario sale_day [--ports auto] [--processes]

Prints `@ready {"gateway_url": ..., "urls": ...}` once serving and seeded (the runner stages
the sale through the API); then answers `baseline` (the stores' state before the load) with
`@baseline {}`, `check` with `@report {...}` (the invariant report), and stops on `quit` or
end of input.
Locust never runs here: it patches sockets with gevent, and this process is asyncio.

With `--processes` the cluster is `estore up --processes`'s: one process per service, each on
its own stores, so the stores cannot be read from here; `check` then reports that every
service still runs, and names the store invariants as not checked (the Locust master checks
what the API shows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from estore.cluster import SERVICES, Cluster
from estore.kit.observability import configure_logging
from estore.kit.settings import SERVICE_PORTS
from estore.kit.testing import free_ports
from estore.processes import Supervisor, describe_status, redis_for_processes, service_children
from estore.seed import seed
from loadtests import snapshot
from loadtests.invariants import Check, InvariantReport, evaluate
from loadtests.scenario import Scenario, load_scenario

READY = "@ready"
REPORT = "@report"
BASELINE = "@baseline"
START_TIMEOUT_S = 60.0


def choose_ports(auto_ports: bool) -> dict[str, int]:
    names = list(SERVICES)
    if auto_ports:
        return dict(zip(names, free_ports(len(names)), strict=True))
    return {n: SERVICE_PORTS[n] for n in names}


def build_cluster(scenario: Scenario, auto_ports: bool) -> Cluster:
    return Cluster(served=True, ports=choose_ports(auto_ports), overrides=scenario.server)


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


def serve_processes(scenario: Scenario, auto_ports: bool) -> None:
    ports = choose_ports(auto_ports)
    with redis_for_processes(os.environ.get("REDIS_URL"), _note) as redis_url:
        children = service_children(
            "127.0.0.1",
            ports,
            redis_url,
            products=scenario.catalog_products,
            settings={**scenario.server, "log_level": "WARNING"},
        )
        supervisor = Supervisor(children)
        try:
            supervisor.start()
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            emit(READY, {"gateway_url": urls["gateway"], "services": sorted(urls), "urls": urls})
            _answer_for_processes(supervisor)
        finally:
            supervisor.stop()


def _note(line: str) -> None:
    print(line, file=sys.stderr)  # stdout carries the line protocol


def _answer_for_processes(supervisor: Supervisor) -> None:
    for raw in sys.stdin:
        line = raw.strip()
        if line == "baseline":
            emit(BASELINE, {})
        elif line == "check":
            emit(REPORT, processes_report(supervisor).model_dump())
        elif line == "quit":
            return
        else:
            emit("@error", {"message": f"unknown command {line!r}; use baseline, check or quit"})


def processes_report(supervisor: Supervisor) -> InvariantReport:
    """Every service process still running; the store invariants named as not checked."""
    ended = [
        f"{child.name} exited ({describe_status(child.exit_status)})"
        for child in supervisor.children
        if child.exit_status is not None
    ]
    running = Check(
        name="every service still running",
        passed=not ended,
        checked=len(supervisor.children),
        violations=ended,
    )
    why = "each service's stores live in its own process (--processes)"
    return InvariantReport(
        passed=running.passed,
        checks=[running],
        not_checked={name: why for name in STORE_CHECKS},
    )


STORE_CHECKS = ("stock conservation", "money", "coupon limits", "no unfinished sagas")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sale_day", help="name or path of the scenario")
    parser.add_argument("--ports", choices=["fixed", "auto"], default="fixed")
    parser.add_argument(
        "--processes", action="store_true", help="one process per service (estore up --processes)"
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=True)
    scenario = load_scenario(args.scenario)
    if args.processes:
        serve_processes(scenario, args.ports == "auto")
    else:
        asyncio.run(serve(scenario, args.ports == "auto"))


if __name__ == "__main__":
    main()
