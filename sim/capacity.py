"""Capacity answers: the highest arrival rate a deployment serves within the scenario's SLO
gates, its bottleneck, the instances a target peak needs, and what-ifs.

Arrivals are open (Poisson) with the scenario's own operation mix, measured from a light closed
run of its users, so "requests per second" means the same mix the sale day sends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any

from loadtests.scenario import Phase, Scenario
from sim.model import Config, OpenWorkload, WhatIf, run
from sim.sweep import Summary, sweep
from sim.twin import SERVED, config

# A service planned for the target runs its loops at most this busy: queues grow fast past it.
PLANNED_UTILISATION = 0.7

WHAT_IFS = (
    WhatIf(name="payment 3x slower", slower={"payment": 3.0}),
    WhatIf(name="category down", down=("category",)),
    WhatIf(name="redis slow (+20 ms a command)", store_added={"redis": 0.020}),
)


@dataclass(frozen=True)
class Profile:
    """What one visitor sends: the operation mix, requests per visitor-second at light load,
    and the CPU seconds each service spends per request."""

    mix: dict[str, float]
    per_user_rps: float
    cpu_per_request: dict[str, float]


def profile(scenario: Scenario, calibration: Mapping[str, Any], seed: int) -> Profile:
    users = 10
    light = scenario.model_copy(
        update={"phases": [Phase(name="light", duration_s=600.0, users=users)]}
    )
    result = run(config(light, calibration, seed=seed, instances=dict.fromkeys(SERVED, 1)))
    counts = {n: float(result.of(n).sum()) for n in result.names if result.of(n).any()}
    total = sum(counts.values())
    return Profile(
        mix={n: c / total for n, c in counts.items()},
        per_user_rps=total / result.horizon_s / users,
        cpu_per_request={s: busy / total for s, busy in result.busy_s.items()},
    )


def open_config(base: Config, mix: Mapping[str, float], rate: float, horizon_s: float) -> Config:
    return replace(
        base,
        workload=OpenWorkload(rate=rate, mix=dict(mix)),
        horizon_s=horizon_s,
        warmup_s=min(horizon_s / 5, 10.0),
    )


def within_gates(summary: Summary, scenario: Scenario) -> bool:
    gates = scenario.gates
    if summary.failure_ratio > gates.max_failure_ratio:
        return False
    default = gates.p95_ms.get("*", math.inf)
    return all(
        values["p95_ms"] <= gates.p95_ms.get(name, default)
        for name, values in summary.per_operation.items()
    )


@dataclass(frozen=True)
class Search:
    max_rps: float
    at_max: Summary | None
    # (rate, p95 ms, within the gates) of every rate tried, for the latency-vs-load plot.
    tried: tuple[tuple[float, float, bool], ...]


def highest_rate(
    base: Config,
    scenario: Scenario,
    mix: Mapping[str, float],
    pool: Executor,
    *,
    start_rps: float,
    horizon_s: float,
    steps: int,
    progress: Callable[[str], None] = lambda _: None,
) -> Search:
    """Double the rate until the gates fail, then bisect between the last pass and fail."""
    tried: list[tuple[float, float, bool]] = []

    def within(rate: float) -> tuple[bool, Summary]:
        summary = sweep([open_config(base, mix, rate, horizon_s)], pool)[0]
        ok = within_gates(summary, scenario)
        tried.append((rate, summary.p95_ms, ok))
        progress(f"  {rate:9.1f} req/s: p95 {summary.p95_ms:8.1f} ms, {'within' if ok else 'past'}")
        return ok, summary

    low, high, best = 0.0, start_rps, None
    while True:
        ok, summary = within(high)
        if not ok:
            break
        low, best, high = high, summary, high * 2
        if high > 1e6:
            return Search(low, best, tuple(tried))
    for _ in range(steps):
        middle = (low + high) / 2
        ok, summary = within(middle)
        if ok:
            low, best = middle, summary
        else:
            high = middle
    return Search(low, best, tuple(sorted(tried)))


def instances_for(rps: float, cpu_per_request: Mapping[str, float]) -> dict[str, int]:
    """Loops per service so none runs busier than PLANNED_UTILISATION at `rps`."""
    return {
        service: max(1, math.ceil(rps * seconds / PLANNED_UTILISATION))
        for service, seconds in sorted(cpu_per_request.items())
    }


def bottleneck(summary: Summary | None) -> dict[str, Any]:
    if summary is None or not summary.utilisation:
        return {"service": "none", "utilisation": 0.0}
    service = max(summary.utilisation, key=lambda s: summary.utilisation[s])
    return {"service": service, "utilisation": summary.utilisation[service]}


def capacity(
    scenario: Scenario,
    calibration: Mapping[str, Any],
    pool: Executor,
    *,
    instances: Mapping[str, int] | None,
    cores: int | None = None,
    target_scale: float,
    horizon_s: float,
    steps: int,
    what_ifs: Sequence[WhatIf] = WHAT_IFS,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    seen = profile(scenario, calibration, scenario.seed)
    needed = scenario.peak_users * seen.per_user_rps
    base = config(scenario, calibration, seed=scenario.seed, instances=instances, cores=cores)
    start = max(1.0, needed / 4)
    found: dict[str, Search] = {}
    for what_if in [None, *what_ifs]:
        name = "as deployed" if what_if is None else what_if.name
        progress(f"{name}:")
        found[name] = highest_rate(
            base if what_if is None else replace(base, what_if=what_if),
            scenario,
            seen.mix,
            pool,
            start_rps=start,
            horizon_s=horizon_s,
            steps=steps,
            progress=progress,
        )
    curves = {name: [list(point) for point in s.tried] for name, s in found.items()}
    deployed = found.pop("as deployed")
    target = needed * target_scale
    return {
        "scenario": scenario.name,
        "peak_users": scenario.peak_users,
        "per_user_rps": seen.per_user_rps,
        "peak_rps_needed": needed,
        "max_rps_served": deployed.max_rps,
        "headroom": deployed.max_rps / needed - 1,
        "bottleneck": bottleneck(deployed.at_max),
        "utilisation_at_max": deployed.at_max.utilisation if deployed.at_max else {},
        "target_scale": target_scale,
        "target_rps": target,
        "instances_for_target": instances_for(target, seen.cpu_per_request),
        "what_ifs": [
            {"name": name, "max_rps_served": s.max_rps, "headroom": s.max_rps / needed - 1}
            for name, s in found.items()
        ],
        "curves": curves,
    }
