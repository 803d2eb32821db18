"""`estore sim validate --quick`: Locust at two short levels on the served cluster, the twin
fitted on one and predicting the other (CI-sized)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadtests.scenario import SCENARIOS, load_scenario
from sim.cli import sim
from sim.validate import Level, errors, level_scenario


def test_a_level_keeps_the_scenario_and_holds_one_steady_phase(tmp_path: Path) -> None:
    path = level_scenario(SCENARIOS / "sale_day.toml", Level(40, 30.0, 3.0), tmp_path)
    level, sale = load_scenario(path), load_scenario("sale_day")
    assert [(p.users, p.duration_s, p.ramp_s) for p in level.phases] == [(40, 30.0, 3.0)]
    assert level.sale == sale.sale and level.gates == sale.gates and level.mix == sale.mix


def test_errors_are_relative_to_the_measurement() -> None:
    measured = {"throughput": 10.0, "p50_ms": 20.0, "p95_ms": 100.0}
    predicted = {"throughput": 9.0, "p50_ms": 25.0, "p95_ms": 100.0}
    assert errors(predicted, measured) == pytest.approx(
        {"throughput": 0.1, "p50": 0.25, "p95": 0.0}
    )


@pytest.mark.e2e
def test_quick_validation_measures_two_levels_and_predicts_the_held_out_one(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        sim, ["validate", "--quick", "--seeds", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads((tmp_path / "validation.json").read_text())
    assert answer["calibration"] == "served"
    assert [r["users"] for r in answer["levels"]] == [5, 20]
    assert [r["used_for_calibration"] for r in answer["levels"]] == [True, False]
    for row in answer["levels"]:
        assert row["measured"]["throughput"] > 0 and row["measured"]["p95_ms"] > 0
        assert row["error"] == pytest.approx(errors(row["predicted"], row["measured"]))
    # Four times the users send about four times the requests, measured and predicted alike.
    low, high = (r["measured"]["throughput"] for r in answer["levels"])
    assert 2.5 < high / low < 5.5
    assert answer["goal"] == {"throughput": 0.05, "p50": 0.10, "p95": 0.20}
    assert "meas/pred" in result.output


def test_validate_refuses_a_missing_calibration() -> None:
    result = CliRunner().invoke(sim, ["validate", "--quick", "--calibration", "nowhere"])
    assert result.exit_code == 2
    assert "estore sim calibrate" in result.output
