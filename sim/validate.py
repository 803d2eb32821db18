"""Validation against the real system: Locust at several steady load levels on the served
cluster, the twin fitted on two of them, its predictions for the others compared.

The fit is one number: how much more CPU a request costs under Locust than the spans of a
lone request showed (HTTP parsing outside the spans, Locust itself on the same cores). It is
chosen on the calibration levels only; the other levels are predictions.
"""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.scenario import SCENARIOS, Scenario, load_scenario
from sim.model import WhatIf, run
from sim.twin import SERVED, config

GOAL = {"throughput": 0.05, "p50": 0.10, "p95": 0.20}
RESULTS_LINE = re.compile(r"^load: results in (.+)$", re.MULTILINE)
FACTORS = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


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


def measure(scenario_path: Path, out: Path, run_locust: Callable[..., str] | None = None) -> Path:
    """One headless Locust run through loadtests.run; the folder it wrote."""
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
    output = (run_locust or _run)(command)
    found = RESULTS_LINE.findall(output)
    if not found:
        raise RuntimeError(f"the load run printed no results folder: {output[-400:]}")
    return Path(found[-1].strip())


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def measured_stats(folder: Path, names: Sequence[str]) -> dict[str, float]:
    """Throughput, p50 and p95 over the operations the twin models, from Locust's CSV."""
    rows = list(csv.DictReader((folder / "locust_stats.csv").open(encoding="utf-8")))
    chosen = [r for r in rows if r["Name"] in names]
    if not chosen:
        raise RuntimeError(f"{folder}: none of the modelled operations ran")
    counts = [float(r["Request Count"]) for r in chosen]
    total = sum(counts)
    return {
        "throughput": sum(float(r["Requests/s"]) for r in chosen),
        "p50_ms": _weighted(chosen, "50%", counts, total),
        "p95_ms": _weighted(chosen, "95%", counts, total),
    }


def _weighted(rows: list[dict[str, str]], key: str, counts: list[float], total: float) -> float:
    # Locust's CSV gives percentiles per request name; the overall one is approximated by the
    # count-weighted mean of those (the Aggregated row also holds requests the twin leaves out).
    return sum(float(r[key]) * c for r, c in zip(rows, counts, strict=True)) / total


def predict(
    scenario: Scenario, calibration: Mapping[str, Any], factor: float, seeds: int
) -> dict[str, float]:
    what_if = WhatIf(name=f"cpu x{factor}", slower=dict.fromkeys(SERVED, factor))
    throughput, p50, p95 = [], [], []
    for seed in range(seeds):
        result = run(config(scenario, calibration, seed=scenario.seed + seed, what_if=what_if))
        throughput.append(len(result.latency) / result.measured_s)
        p50.append(result.percentile(50) * 1000)
        p95.append(result.percentile(95) * 1000)
    return {
        "throughput": sum(throughput) / seeds,
        "p50_ms": sum(p50) / seeds,
        "p95_ms": sum(p95) / seeds,
    }


def errors(predicted: Mapping[str, float], measured: Mapping[str, float]) -> dict[str, float]:
    return {
        "throughput": _rel(predicted["throughput"], measured["throughput"]),
        "p50": _rel(predicted["p50_ms"], measured["p50_ms"]),
        "p95": _rel(predicted["p95_ms"], measured["p95_ms"]),
    }


def _rel(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured if measured else math.inf


def fit(
    scenarios: Sequence[Scenario],
    measured: Sequence[Mapping[str, float]],
    calibration: Mapping[str, Any],
    seeds: int,
) -> float:
    """The CPU factor that best predicts the calibration levels' p50 and throughput."""

    def cost(factor: float) -> float:
        return sum(
            sum(errors(predict(s, calibration, factor, seeds), m).values())
            for s, m in zip(scenarios, measured, strict=True)
        )

    return min(FACTORS, key=cost)


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
    run_locust: Callable[..., str] | None = None,
) -> dict[str, Any]:
    names = list(calibration["operations"])
    out.mkdir(parents=True, exist_ok=True)
    scenarios, measured = [], []
    for level in levels:
        path = level_scenario(base, level, out)
        progress(f"measuring {level.users} users for {level.duration_s:g} s with Locust")
        folder = measure(path, out / "load", run_locust)
        scenarios.append(load_scenario(path))
        measured.append(measured_stats(folder, names))
    chosen = [i for i, level in enumerate(levels) if level.users in calibrate_on]
    factor = fit([scenarios[i] for i in chosen], [measured[i] for i in chosen], calibration, seeds)
    progress(f"fitted CPU factor x{factor} on {sorted(calibrate_on)} users")
    rows: list[dict[str, Any]] = []
    for index, (level, scenario, seen) in enumerate(zip(levels, scenarios, measured, strict=True)):
        predicted = predict(scenario, calibration, factor, seeds)
        rows.append(
            {
                "users": level.users,
                "measured": seen,
                "predicted": predicted,
                "error": errors(predicted, seen),
                "used_for_calibration": index in chosen,
            }
        )
    held_out = [r for r in rows if not r["used_for_calibration"]] or rows
    met = all(r["error"][k] <= goal for r in held_out for k, goal in GOAL.items())
    return {
        "calibration": calibration_name,
        "cpu_factor": factor,
        "levels": rows,
        "goal": GOAL,
        "met": met,
    }
