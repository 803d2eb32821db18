"""Run a Chaos Toolkit experiment in-process and judge it: passed, failed or inconclusive.

chaostoolkit-lib runs the experiment and writes its journal; the verdict is ours, because the
library reports a run whose "before" hypothesis failed as `completed`. A run is inconclusive
when the steady state was not met before the method or when no fault was injected (the
method's `faults-injected` probe reads the seam's count); it passes only when the steady state
holds after the method and every figure meets its expectation in the experiment's `estore`
extension (`expect`: probe name -> value, [low, high] range, or a dict of such for a probe
that answers a dict).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos import toolkit

EXPERIMENTS = Path(__file__).resolve().parent / "experiments"
INJECTED_PROBE = "faults-injected"
SETTINGS: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}


class ExperimentError(ValueError):
    """The experiment file cannot be read or is not a valid experiment."""


@dataclass
class Verdict:
    title: str
    verdict: str  # passed, failed or inconclusive
    reasons: list[str]
    figures: dict[str, Any]
    journal: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "figures": self.figures,
            "toolkit_status": self.journal.get("status"),
        }


def experiment_files() -> list[Path]:
    return sorted(EXPERIMENTS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        experiment: dict[str, Any] = json.loads(path.read_text())
    except OSError as exc:
        raise ExperimentError(f"cannot read experiment {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ExperimentError(f"{path} is not JSON: {exc}") from exc
    try:
        ensure_experiment_is_valid(experiment)
    except ChaosException as exc:
        raise ExperimentError(f"{path} is not a valid experiment: {exc}") from exc
    return experiment


def run_file(path: Path) -> Verdict:
    """Run one experiment file on a fresh in-process session and judge it."""
    from chaoslib.experiment import run_experiment

    experiment = load(path)
    title = str(experiment.get("title", path.stem))
    logging.getLogger("chaostoolkit").setLevel(logging.WARNING)
    try:
        # run_experiment mutates the experiment it is given: hand it a copy.
        journal = run_experiment(json.loads(json.dumps(experiment)), settings=SETTINGS)
    finally:
        toolkit.close()
    return judge(title, experiment, journal)


def judge(title: str, experiment: dict[str, Any], journal: dict[str, Any]) -> Verdict:
    figures = {
        run["activity"]["name"]: run.get("output")
        for run in journal.get("run", [])
        if run["activity"].get("type") == "probe"
    }
    failed_activities = [
        run["activity"]["name"]
        for run in journal.get("run", [])
        if run.get("status") != "succeeded"
    ]
    states = journal.get("steady_states") or {}
    before, after = states.get("before") or {}, states.get("after") or {}
    if not before.get("steady_state_met"):
        return Verdict(
            title, "inconclusive", ["steady state not met before the method"], figures, journal
        )
    if not figures.get(INJECTED_PROBE):
        return Verdict(title, "inconclusive", ["no fault was injected"], figures, journal)
    reasons = [f"activity {name} did not succeed" for name in failed_activities]
    if not after.get("steady_state_met"):
        reasons.append("steady state not met after the method")
    for name, want in _expectations(experiment).items():
        if not _meets(figures.get(name), want):
            reasons.append(f"{name}: got {figures.get(name)!r}, expected {want!r}")
    return Verdict(title, "failed" if reasons else "passed", reasons, figures, journal)


def _expectations(experiment: dict[str, Any]) -> dict[str, Any]:
    for extension in experiment.get("extensions", []):
        if extension.get("name") == "estore":
            expect: dict[str, Any] = extension.get("expect", {})
            return expect
    return {}


def _meets(value: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(value, dict) and all(_meets(value.get(k), w) for k, w in want.items())
    if isinstance(want, list) and len(want) == 2 and not isinstance(value, (list, bool)):
        return isinstance(value, (int, float)) and want[0] <= value <= want[1]
    return bool(value == want)
