"""`estore sim` commands: results on good input, one clear line and exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from loadtests.scenario import SCENARIOS
from sim.cli import sim

SMALL = ["--time-scale", "0.05", "--user-scale", "0.1"]


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(sim, list(args))
    return result.exit_code, result.output


def test_run_prints_operations_with_confidence_intervals_and_writes_json(tmp_path: Path) -> None:
    code, output = _invoke("run", *SMALL, "--seeds", "3", "--jobs", "1", "--out", str(tmp_path))
    assert code == 0, output
    assert "gql Products" in output and "±" in output
    written = json.loads((tmp_path / "run.json").read_text())
    assert written["seeds"] == 3
    assert written["throughput"]["mean"] > 0
    assert written["throughput"]["ci95"] >= 0


def test_a_scenario_with_an_unknown_key_is_refused_in_one_line(tmp_path: Path) -> None:
    text = (SCENARIOS / "sale_day.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text("surprise = 1\n" + text)
    code, output = _invoke("run", "--scenario", str(bad), "--seeds", "1")
    assert code == 2
    assert output.strip().count("\n") == 0
    assert "surprise" in output and "fix the scenario" in output


def test_zero_instances_is_refused_with_what_to_do() -> None:
    code, output = _invoke("run", *SMALL, "--seeds", "1", "--instances", "gateway=0")
    assert code == 2
    assert "at least 1" in output and "Traceback" not in output


def test_a_missing_calibration_says_how_to_make_one() -> None:
    code, output = _invoke("run", *SMALL, "--seeds", "1", "--calibration", "nowhere")
    assert code == 2
    assert "estore sim calibrate" in output
