"""The report's parts: each is one or more subprocess commands that write artifacts.

The report never imports the parts' code to run them: it runs their commands (so a part can
change freely behind its command line) and reads what they wrote. A command that cannot run
(its tool or command is not installed) is recorded as not run, with the reason.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
Profile = Literal["quick", "release"]
STDERR_TAIL = 3


@dataclass(frozen=True)
class Sizes:
    """How much each part does in a profile."""

    schedules: int
    mutant_limit: int
    time_scale: float
    user_scale: float
    sim_quick: bool


PROFILES: dict[str, Sizes] = {
    "quick": Sizes(schedules=30, mutant_limit=300, time_scale=0.05, user_scale=0.1, sim_quick=True),
    "release": Sizes(
        schedules=300, mutant_limit=1000, time_scale=0.3, user_scale=0.5, sim_quick=False
    ),
}
SCENARIO = "sale_day"
# The figures the benchmark scripts recorded (`make bench` re-runs them).
BENCHMARKS = ROOT / "reports" / "benchmarks.md"


@dataclass(frozen=True)
class Step:
    part: str
    name: str
    argv: list[str]
    # Why the step cannot run here (None when it can), asked just before running it.
    missing: Callable[[], str | None] = field(default=lambda: None, compare=False)
    # The exit codes that carry a verdict; any other means the step could not run.
    verdict_codes: tuple[int, ...] = (0, 1)

    @property
    def id(self) -> str:
        return f"{self.part}/{self.name}"

    @property
    def command(self) -> str:
        shown = ["python" if arg == sys.executable else arg for arg in self.argv]
        return " ".join(shown)


@dataclass
class StepRun:
    """What became of one step: ran (with its exit code) or not run (with the reason)."""

    part: str
    name: str
    command: str
    status: Literal["ran", "not run"]
    reason: str = ""
    exit_code: int | None = None
    seconds: float = 0.0

    @property
    def id(self) -> str:
        return f"{self.part}/{self.name}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _estore_command(name: str) -> str | None:
    if any(point.name == name for point in entry_points(group="estore.commands")):
        return None
    return f"the `estore {name}` command is not installed (no estore.commands entry point)"


def _module(name: str) -> Callable[[], str | None]:
    def missing() -> str | None:
        return None if importlib.util.find_spec(name) else f"module {name} is not installed"

    return missing


def _estore(*args: str) -> list[str]:
    return [sys.executable, "-m", "estore.cli", *args]


def steps(profile: Profile, seed: int, parts_dir: Path) -> list[Step]:
    """Every command of the profile, writing under `parts_dir/<part>/`."""
    size = PROFILES[profile]
    d = {part: parts_dir / part for part in ("contracts", "chaos", "load", "sim")}
    quick = ["--quick"] if size.sim_quick else []
    return [
        Step(
            "contracts",
            "pytest",
            [sys.executable, "-m", "pytest", "contracts", "-q", "-p", "no:cacheprovider",
             "--junitxml", str(d["contracts"] / "junit.xml")],
            _module("pact"),
        ),
        Step("schema", "snapshot", [sys.executable, "-m", "contracts.schema.snapshot"]),
        Step(
            "chaos",
            "campaign",
            _estore("chaos", "campaign", "--seed", str(seed), "--schedules", str(size.schedules),
                    "--out", str(d["chaos"] / "campaign")),
            lambda: _estore_command("chaos"),
        ),
        Step(
            "chaos",
            "mutants",
            _estore("chaos", "mutants", "--seed", str(seed), "--limit", str(size.mutant_limit)),
            lambda: _estore_command("chaos"),
        ),
        Step(
            "chaos",
            "experiments",
            _estore("chaos", "experiment", "--out", str(d["chaos"] / "experiments")),
            lambda: _estore_command("chaos"),
        ),
        Step(
            "load",
            "locust",
            [sys.executable, "-m", "loadtests.run", "--headless", "--scenario", SCENARIO,
             "--time-scale", str(size.time_scale), "--user-scale", str(size.user_scale),
             "--ports", "auto", "--out", str(d["load"])],
            _module("loadtests.run"),
            verdict_codes=(0, 1, 4),  # 1: a gate failed, 4: an invariant failed
        ),
        Step(
            "sim",
            "validate",
            _estore("sim", "validate", "--out", str(d["sim"] / "validate"), *quick),
            lambda: _estore_command("sim"),
        ),
        Step(
            "sim",
            "capacity",
            _estore("sim", "capacity", "--scenario", SCENARIO, "--out",
                    str(d["sim"] / "capacity"), *quick),
            lambda: _estore_command("sim"),
        ),
        Step(
            "benchmarks",
            "collect",
            ["cp", str(BENCHMARKS), str(parts_dir / "benchmarks" / "benchmarks.md")],
            lambda: None if BENCHMARKS.exists() else f"{BENCHMARKS} is missing",
            verdict_codes=(0,),
        ),
    ]  # fmt: skip


def run_step(step: Step, parts_dir: Path) -> StepRun:
    """Run one step, its output kept in `parts_dir/<part>/<name>.log`."""
    reason = step.missing()
    if reason:
        return StepRun(step.part, step.name, step.command, "not run", reason)
    log = log_path(parts_dir, step.part, step.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    for path in (d for d in step.argv if d.startswith(str(parts_dir))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        try:
            code = subprocess.call(step.argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        except OSError as exc:
            return StepRun(step.part, step.name, step.command, "not run", str(exc))
    seconds = round(time.monotonic() - started, 1)
    return StepRun(step.part, step.name, step.command, "ran", exit_code=code, seconds=seconds)


def log_path(parts_dir: Path, part: str, name: str) -> Path:
    return parts_dir / part / f"{name}.log"


def log_tail(path: Path) -> str:
    lines = (
        [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )
    return " | ".join(lines[-STDERR_TAIL:])
