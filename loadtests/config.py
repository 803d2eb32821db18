"""What a Locust process is told by its runner, through the environment: scenario, scales,
fixtures file and report folder. Read once per process, on first use (not at import)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from loadtests.scenario import Scenario, load_scenario

ENV_SCENARIO = "ESTORE_LOAD_SCENARIO"
ENV_TIME_SCALE = "ESTORE_LOAD_TIME_SCALE"
ENV_USER_SCALE = "ESTORE_LOAD_USER_SCALE"
ENV_FIXTURES = "ESTORE_LOAD_FIXTURES"
ENV_REPORT_DIR = "ESTORE_LOAD_REPORT_DIR"


@dataclass(frozen=True)
class LoadConfig:
    scenario: Scenario
    fixtures: dict[str, Any]
    report_dir: Path | None


def environment(
    scenario: str, fixtures: Path, report_dir: Path | None, time_scale: float, user_scale: float
) -> dict[str, str]:
    """The variables a runner sets for Locust processes (master, workers or standalone)."""
    values = {
        ENV_SCENARIO: scenario,
        ENV_FIXTURES: str(fixtures),
        ENV_TIME_SCALE: repr(time_scale),
        ENV_USER_SCALE: repr(user_scale),
    }
    return values | ({ENV_REPORT_DIR: str(report_dir)} if report_dir else {})


@cache
def current() -> LoadConfig:
    scenario = load_scenario(os.environ.get(ENV_SCENARIO, "sale_day")).scaled(
        time=float(os.environ.get(ENV_TIME_SCALE, "1")),
        users=float(os.environ.get(ENV_USER_SCALE, "1")),
    )
    fixtures_path = os.environ.get(ENV_FIXTURES)
    if not fixtures_path:
        raise RuntimeError(
            f"{ENV_FIXTURES} is not set: start load runs with `python -m loadtests.run`, "
            "which serves and stages the cluster first"
        )
    fixtures = json.loads(Path(fixtures_path).read_text(encoding="utf-8"))
    report = os.environ.get(ENV_REPORT_DIR)
    return LoadConfig(scenario, fixtures, Path(report) if report else None)
