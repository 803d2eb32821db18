"""The storefront as the model sees it: operations from a calibration, users from a scenario.

The calibration holds each operation's call tree as the real code made it; the scenario says
who visits, how many, and what each role does (the same weights as loadtests/users.py).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadtests.scenario import Scenario
from sim.calibrate import CALIBRATIONS, CalibrationError
from sim.calibrations_check import problems
from sim.model import (
    Call,
    Choice,
    ClosedWorkload,
    Config,
    Cpu,
    Demand,
    Deployment,
    LoadGenerator,
    Operation,
    Parallel,
    Step,
    Store,
    WhatIf,
)
from sim.resilience import Resilience

US = 1e-6
# Every app of the served cluster runs in one process, on one event loop.
SERVED = ("gateway", "auth", "product", "order", "category", "coupon", "ticket", "payment")


def load_calibration(source: str | Path) -> dict[str, Any]:
    path = Path(source)
    if not path.suffix:
        path = CALIBRATIONS / f"{source}.json"
    if not path.exists():
        known = sorted(p.stem for p in CALIBRATIONS.glob("*.json"))
        raise CalibrationError(
            f"no calibration {path}; make one with `estore sim calibrate --name NAME`"
            + (f" or use one of {', '.join(known)}" if known else "")
        )
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: not valid JSON ({exc}); make it again") from exc
    wrong = problems(document) if "operations" in document else ["no operations"]
    if wrong:
        raise CalibrationError(f"{path}: {wrong[0]}; make it again with `estore sim calibrate`")
    return document


def operations(calibration: Mapping[str, Any], *, redis_computes: bool) -> dict[str, Operation]:
    """Each calibrated operation as model steps; `redis_computes`: the fake Redis runs on the
    caller's loop, so its time is CPU there (true of the served cluster on fakes)."""
    built = {}
    for name, measured in calibration["operations"].items():
        shapes = measured["shapes"]
        entry = shapes[0]["tree"]["service"]
        options = tuple(
            (float(s["share"]), _steps(s["tree"], redis_computes, name)) for s in shapes
        )
        steps = options[0][1] if len(options) == 1 else (Choice(options),)
        built[name] = Operation(name, entry, steps)
    return built


def _median(counts: list[int]) -> float:
    return float(statistics.median(counts)) if counts else 0.0


def _samples(values: list[float]) -> Demand:
    seconds = tuple(v * US for v in values)
    return Demand(statistics.fmean(seconds) if seconds else 0.0, "empirical", seconds)


def _steps(node: Mapping[str, Any], redis_computes: bool, operation: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    calls = node["redis_us"]
    count = round(statistics.median(len(c) for c in calls)) if calls else 0
    if count:
        pooled = _samples([s for c in calls for s in c])
        # The loop turns the fake's calls took, shared out over them (at least one each).
        turns = _median(node.get("redis_turns", []))
        each = max(1, round(turns / count))
        steps += [Store("redis", pooled, computes=redis_computes, turns=each)] * count
    turns_of = node.get("turns") or [[] for _ in node["cpu_us"]]
    for index, segment in enumerate(node["cpu_us"]):
        steps.append(Cpu(_samples(segment), turns=max(1, round(_median(turns_of[index])))))
        if index < len(node["groups"]):
            group = [_call(child, redis_computes, operation) for child in node["groups"][index]]
            steps.append(group[0] if len(group) == 1 else Parallel(tuple((c,) for c in group)))
    return tuple(steps)


def _call(node: Mapping[str, Any], redis_computes: bool, operation: str) -> Call:
    route = node["route"]
    # The gateway retries only queries; REST writes to services are not retried by the kit.
    idempotent = route == "/graphql" and "gql " in operation and not _mutation(operation)
    return Call(node["service"], _steps(node, redis_computes, operation), idempotent=idempotent)


MUTATIONS = {"gql Login", "gql CreateOrder", "gql Restock", "gql CreateCoupon"}


def _mutation(operation: str) -> bool:
    return operation in MUTATIONS


def workload(scenario: Scenario) -> ClosedWorkload:
    """The roles of loadtests/users.py with their task weights, as operation sequences."""
    funnel = scenario.funnel
    tasks: dict[str, dict[tuple[str, ...], float]] = {
        "browser": {
            ("gql Products",): 2.5,
            ("gql Products", "gql Products"): 2.5,
            ("gql Product",): 3,
            ("gql Search",): 2,
            ("gql Categories",): 1,
        },
        "shopper": {
            ("gql Products",): funnel.browse / 2,
            ("gql Product",): funnel.browse / 2,
            ("gql CartCheck",): funnel.cart,
            ("gql CreateOrder",): funnel.checkout,
        },
        # The live chat runs over a WebSocket the model leaves out: a chat turn is a pause.
        "support": {("gql MyOrders", "rest OpenTicket"): 1, (): 3, ("rest AgentReply",): 2},
        "admin": {("gql Restock",): 3, ("gql CreateCoupon",): 1},
    }
    start = {
        "shopper": ("gql Login",),
        "support": ("gql Login", "gql Login"),
        "admin": ("gql Login",),
    }
    roles: dict[str, float] = {str(r): float(w) for r, w in scenario.mix.items() if w > 0}
    think = scenario.think_time
    return ClosedWorkload(
        users_at=scenario.users_at,
        think=(think.min_s, think.max_s),
        roles=roles,
        start=start,
        tasks={r: tasks[r] for r in roles},
    )


def deployment(instances: Mapping[str, int] | None, cores: int | None) -> Deployment:
    """No instances named: the served cluster (every app on one loop); else one loop per
    instance of each service."""
    if not instances:
        return Deployment(shared=SERVED, shared_instances=1, cores=cores)
    wrong = {s: n for s, n in instances.items() if n < 1}
    if wrong:
        raise ValueError(
            f"instances must be at least 1 (got {wrong}); leave a service out to keep one, "
            "or ask a what-if with it down"
        )
    unknown = set(instances) - set(SERVED)
    if unknown:
        raise ValueError(f"unknown services {sorted(unknown)}; known: {', '.join(SERVED)}")
    return Deployment(instances=dict(instances), cores=cores)


def config(
    scenario: Scenario,
    calibration: Mapping[str, Any],
    *,
    seed: int,
    instances: Mapping[str, int] | None = None,
    cores: int | None = None,
    what_if: WhatIf | None = None,
    warmup_s: float = 0.0,
    load_generator: LoadGenerator | None = None,
) -> Config:
    return Config(
        operations=operations(calibration, redis_computes=not instances),
        workload=workload(scenario),
        horizon_s=scenario.duration_s,
        warmup_s=warmup_s,
        deployment=deployment(instances, cores),
        resilience=Resilience.from_settings(),
        what_if=what_if or WhatIf(),
        seed=seed,
        load_generator=load_generator,
    )
