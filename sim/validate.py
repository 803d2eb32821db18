"""Validation against the real system: Locust at several steady load levels on the served
cluster, the twin fitted on two of them, its predictions for the others compared.

The served cluster and Locust share this machine's cores (and, on a shared machine, other
work does too), so each level also records where the CPU went (`sim.usage`). The twin is told
the environment of each level: the share of a core the served cluster's loop got while it was
runnable, and Locust's share; its CPU per request and Locust's are fitted on the calibration
levels only, as measured ratios (CPU the served process spent over the CPU the spans account
for: HTTP parsing outside the spans; Locust's CPU per request). The other levels are
predictions.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from loadtests.scenario import SCENARIOS, Scenario, load_scenario
from sim.model import Demand, LoadGenerator, Result, WhatIf, run
from sim.twin import SERVED, config
from sim.usage import Sample, Watcher, usage

GOAL = {"throughput": 0.05, "p50": 0.10, "p95": 0.20}
RESULTS_LINE = re.compile(r"^load: results in (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Level:
    users: int
    duration_s: float
    ramp_s: float


def level_scenario(base: Path, level: Level, directory: Path) -> Path:
    """The base scenario with its phases replaced by one steady level (a TOML of our own)."""
    text = base.read_text(encoding="utf-8")
    kept = re.sub(r"\[\[phases\]\]\n(?:(?!\n\n|\n\[).)*\n?", "", text, flags=re.DOTALL)
    phases = (
        f'\n[[phases]]\nname = "level"\nduration_s = {level.duration_s}\n'
        f"users = {level.users}\nramp_s = {level.ramp_s}\n"
    )
    path = directory / f"level_{level.users}.toml"
    path.write_text(kept + phases, encoding="utf-8")
    load_scenario(path)  # refuse now, not after a served start-up
    return path


def measure(
    scenario_path: Path, out: Path, run_locust: Callable[[list[str]], Measured] | None = None
) -> tuple[Path, list[Sample]]:
    """One headless Locust run through loadtests.run: the folder it wrote, and the CPU of its
    processes sampled meanwhile."""
    command = [
        sys.executable,
        "-m",
        "loadtests.run",
        "--headless",
        "--scenario",
        str(scenario_path),
        "--time-scale",
        "1",
        "--user-scale",
        "1",
        "--ports",
        "auto",
        "--out",
        str(out),
    ]
    output, samples = (run_locust or _run)(command)
    found = RESULTS_LINE.findall(output)
    if not found:
        raise RuntimeError(f"the load run printed no results folder: {output[-400:]}")
    return Path(found[-1].strip()), samples


Measured = tuple[str, list[Sample]]


def _run(command: list[str]) -> Measured:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        with Watcher(process.pid, time.time) as watcher:
            output, _ = process.communicate()
    return output, watcher.samples


def measured_stats(folder: Path, names: Sequence[str]) -> dict[str, Any]:
    """Throughput, p50 and p95 over the operations the twin models and per operation, from
    Locust's response-time histograms (stats.json), so the overall percentiles are those of
    every modelled request, as the twin's are."""
    entries = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    chosen = [e for e in entries if e["name"] in names and e["num_requests"]]
    if not chosen:
        raise RuntimeError(f"{folder}: none of the modelled operations ran")
    seconds = max(e["last_request_timestamp"] for e in chosen) - min(
        e["start_time"] for e in chosen
    )
    histograms = {e["name"]: Counter(_histogram(e)) for e in chosen}
    per_operation = {
        name: _stats(histogram, seconds) for name, histogram in sorted(histograms.items())
    }
    everything: Counter[float] = sum(histograms.values(), Counter())
    failed = sum(e.get("num_failures", 0) for e in chosen) / sum(e["num_requests"] for e in chosen)
    return {**_stats(everything, seconds), "failure_ratio": failed, "per_operation": per_operation}


def _histogram(entry: Mapping[str, Any]) -> dict[float, int]:
    return {float(ms): int(count) for ms, count in entry["response_times"].items()}


def _stats(histogram: Mapping[float, int], seconds: float) -> dict[str, float]:
    total = sum(histogram.values())
    return {
        "throughput": total / seconds if seconds > 0 else 0.0,
        "p50_ms": _percentile(histogram, 0.50, total),
        "p95_ms": _percentile(histogram, 0.95, total),
    }


def _percentile(histogram: Mapping[float, int], share: float, total: int) -> float:
    """The smallest response time (Locust's rounded buckets) at or below which `share` of the
    requests fall."""
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= share * total:
            return ms
    return math.nan


@dataclass(frozen=True)
class Machine:
    """A level's environment as measured: the share of a core the served cluster's loop and
    Locust's got while runnable (other work takes the rest), and Locust's CPU per request."""

    served_share: float = 1.0
    client_cpu_s: float = 0.0
    client_share: float = 1.0

    @classmethod
    def of(cls, usage: Mapping[str, float], client_cpu_s: float) -> Machine:
        return cls(
            served_share=usage.get("served_share", 1.0),
            client_cpu_s=client_cpu_s,
            client_share=usage.get("locust_share", 1.0),
        )


def predict(
    scenario: Scenario,
    calibration: Mapping[str, Any],
    factor: float,
    seeds: int,
    machine: Machine = Machine(),
) -> dict[str, Any]:
    """The twin's statistics, overall and per operation; `span_cpu`: the CPU per second its
    spans account for (before `factor`), for the fit."""
    slower = factor / machine.served_share
    what_if = WhatIf(name=f"cpu x{slower:.2f}", slower=dict.fromkeys(SERVED, slower))
    generator = (
        LoadGenerator(Demand(machine.client_cpu_s / machine.client_share, "const"))
        if machine.client_cpu_s
        else None
    )
    runs = [
        run(
            config(
                scenario,
                calibration,
                seed=scenario.seed + seed,
                what_if=what_if,
                load_generator=generator,
            )
        )
        for seed in range(seeds)
    ]
    names = sorted({n for r in runs for n in r.names if r.of(n).any()})
    span_cpu = statistics.fmean(sum(r.busy_s.values()) / r.measured_s / slower for r in runs)
    return {
        **_mean([_predicted(r, None) for r in runs]),
        "span_cpu": span_cpu,
        "per_operation": {n: _mean([_predicted(r, n) for r in runs]) for n in names},
    }


def _predicted(result: Result, name: str | None) -> dict[str, float]:
    """As Locust counts them: every request, failed ones with the time they took to fail."""
    chosen = np.ones(len(result.latency), bool) if name is None else result.of(name)
    latency = result.latency[chosen]
    if not len(latency):
        return {"throughput": 0.0, "p50_ms": math.nan, "p95_ms": math.nan, "failure_ratio": 0.0}
    p50, p95 = np.percentile(latency, [50, 95]) * 1000
    return {
        "throughput": len(latency) / result.measured_s,
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "failure_ratio": float(1 - result.ok[chosen].mean()),
    }


def _mean(values: Sequence[Mapping[str, float]]) -> dict[str, float]:
    return {key: statistics.fmean(v[key] for v in values) for key in values[0]}


def errors(predicted: Mapping[str, float], measured: Mapping[str, float]) -> dict[str, float]:
    return {
        "throughput": _rel(predicted["throughput"], measured["throughput"]),
        "p50": _rel(predicted["p50_ms"], measured["p50_ms"]),
        "p95": _rel(predicted["p95_ms"], measured["p95_ms"]),
    }


def _rel(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured if measured else math.inf


@dataclass(frozen=True)
class Fit:
    """What the calibration levels say: the served process's CPU over the CPU its spans
    account for, and Locust's CPU per request."""

    cpu_factor: float
    client_cpu_s: float
    # The users of the levels it was fitted on (the clean ones among the calibration levels).
    users: tuple[int, ...] = ()


# A calibration level where more requests failed measures the CPU of failing fast (an open
# breaker answers at once), not of serving: the fit leaves it out while another level is clean.
CLEAN_FAILURE_RATIO = 0.02


def fit(
    scenarios: Sequence[Scenario],
    levels: Sequence[Mapping[str, Any]],
    calibration: Mapping[str, Any],
    seeds: int,
) -> Fit:
    clean = [
        i
        for i, level in enumerate(levels)
        if level["stats"].get("failure_ratio", 0.0) <= CLEAN_FAILURE_RATIO
    ]
    if clean:
        scenarios, levels = [scenarios[i] for i in clean], [levels[i] for i in clean]
    usages = [level["usage"] for level in levels]
    requests = sum(u["requests_per_s"] for u in usages)
    client_cpu_s = sum(u["locust_cpu"] for u in usages) / requests if requests else 0.0
    span_cpu = sum(
        predict(s, calibration, 1.0, seeds, Machine.of(u, client_cpu_s))["span_cpu"]
        for s, u in zip(scenarios, usages, strict=True)
    )
    served_cpu = sum(u["served_cpu"] for u in usages)
    return Fit(
        served_cpu / span_cpu if span_cpu else 1.0,
        client_cpu_s,
        tuple(level["users"] for level in levels),
    )


def measure_level(
    base: Path,
    level: Level,
    names: Sequence[str],
    out: Path,
    run_locust: Callable[[list[str]], Measured] | None = None,
) -> dict[str, Any]:
    """One level's measurement: Locust's statistics and where the machine's CPU went."""
    path = level_scenario(base, level, out)
    folder, samples = measure(path, out / "load", run_locust)
    return {
        "users": level.users,
        "duration_s": level.duration_s,
        "ramp_s": level.ramp_s,
        "folder": str(folder),
        "stats": measured_stats(folder, names),
        "usage": usage(samples, folder / "locust_stats_history.csv", level.users).to_json(),
    }


def validate(
    levels: Sequence[Level],
    calibrate_on: Sequence[int],
    calibration: Mapping[str, Any],
    calibration_name: str,
    out: Path,
    *,
    base: Path = SCENARIOS / "sale_day.toml",
    seeds: int = 3,
    progress: Callable[[str], None] = lambda _: None,
    run_locust: Callable[[list[str]], Measured] | None = None,
    measured: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Measure each level with Locust (or take `measured`, the levels of an earlier
    validation), fit the twin on `calibrate_on` and predict every level."""
    names = list(calibration["operations"])
    out.mkdir(parents=True, exist_ok=True)
    if measured is None:
        runs = []
        for wanted in levels:
            progress(f"measuring {wanted.users} users for {wanted.duration_s:g} s with Locust")
            runs.append(measure_level(base, wanted, names, out, run_locust))
        measured = runs
    scenarios = [
        load_scenario(level_scenario(base, Level(m["users"], m["duration_s"], m["ramp_s"]), out))
        for m in measured
    ]
    chosen = [i for i, m in enumerate(measured) if m["users"] in calibrate_on]
    if not chosen:
        raise ValueError(f"no measured level has {sorted(calibrate_on)} users to fit on")
    fitted = fit([scenarios[i] for i in chosen], [measured[i] for i in chosen], calibration, seeds)
    progress(
        f"fitted on {list(fitted.users)} users: CPU x{fitted.cpu_factor:.2f} of the spans', "
        f"Locust {fitted.client_cpu_s * 1000:.2f} ms CPU a request"
    )
    rows: list[dict[str, Any]] = []
    for index, (level, scenario) in enumerate(zip(measured, scenarios, strict=True)):
        machine = Machine.of(level["usage"], fitted.client_cpu_s)
        predicted = predict(scenario, calibration, fitted.cpu_factor, seeds, machine)
        seen = level["stats"]
        rows.append(
            {
                **level,
                "measured": {k: v for k, v in seen.items() if k != "per_operation"},
                "predicted": {k: v for k, v in predicted.items() if k != "per_operation"},
                "machine": asdict(machine),
                "error": errors(predicted, seen),
                "per_operation": {
                    name: {
                        "measured": seen["per_operation"][name],
                        "predicted": predicted["per_operation"][name],
                        "error": errors(
                            predicted["per_operation"][name], seen["per_operation"][name]
                        ),
                    }
                    for name in seen["per_operation"]
                    if name in predicted["per_operation"]
                },
                "used_for_calibration": index in chosen,
            }
        )
    held_out = [r for r in rows if not r["used_for_calibration"]] or rows
    met = all(r["error"][k] <= goal for r in held_out for k, goal in GOAL.items())
    return {
        "calibration": calibration_name,
        "cpu_factor": fitted.cpu_factor,
        "client_cpu_ms": fitted.client_cpu_s * 1000,
        "fitted_on": list(fitted.users),
        "levels": rows,
        "goal": GOAL,
        "met": met,
    }
