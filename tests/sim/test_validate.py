"""`estore sim validate --quick`: Locust at two short levels on the served cluster, the twin
fitted on one and predicting the other (CI-sized)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadtests.scenario import SCENARIOS, load_scenario
from sim.cli import sim
from sim.validate import Level, errors, level_scenario, measured_stats


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


# Two served clusters started, staged and loaded: longer than the default limit on a busy
# machine.
@pytest.mark.e2e
@pytest.mark.timeout(400)
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


def _entry(name: str, times: dict[str, int]) -> dict[str, object]:
    return {
        "name": name,
        "num_requests": sum(times.values()),
        "start_time": 1000.0,
        "last_request_timestamp": 1010.0,
        "response_times": times,
    }


def test_measured_percentiles_are_those_of_every_modelled_request(tmp_path: Path) -> None:
    entries = [
        _entry("gql Products", {"10": 6, "20": 4}),
        _entry("gql Login", {"100": 10}),
        _entry("ws Chat", {"5000": 100}),  # not modelled: left out
    ]
    (tmp_path / "stats.json").write_text(json.dumps(entries))
    stats = measured_stats(tmp_path, ["gql Products", "gql Login"])
    assert stats["throughput"] == pytest.approx(2.0)
    # Twenty requests: ten at or under 20 ms, so the median is 20, the 95th 100.
    assert (stats["p50_ms"], stats["p95_ms"]) == (20.0, 100.0)
    products = stats["per_operation"]["gql Products"]
    assert (products["p50_ms"], products["p95_ms"], products["throughput"]) == (10.0, 20.0, 1.0)
    assert "ws Chat" not in stats["per_operation"]


def _level(users: int, rps: float) -> dict[str, object]:
    seen = {"throughput": rps, "p50_ms": 10.0, "p95_ms": 40.0}
    return {
        "users": users,
        "duration_s": 10.0,
        "ramp_s": 2.0,
        "stats": {**seen, "per_operation": {"gql Products": seen}},
        "usage": {"requests_per_s": rps, "served_cpu": 0.05 * users, "locust_cpu": 0.01},
    }


def test_validate_predicts_the_levels_of_an_earlier_measurement_again(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"levels": [_level(5, 2.0), _level(20, 8.0)]}))
    result = CliRunner().invoke(
        sim,
        ["validate", "--quick", "--seeds", "1", "--measured", str(earlier), "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads((tmp_path / "validation.json").read_text())
    assert [r["users"] for r in answer["levels"]] == [5, 20]
    for row in answer["levels"]:
        assert row["measured"]["throughput"] == row["stats"]["throughput"]
        products = row["per_operation"]["gql Products"]
        assert products["error"] == pytest.approx(
            errors(products["predicted"], products["measured"])
        )
    assert "gql Products" in result.output


def test_validate_refuses_a_measurement_without_per_operation_statistics(
    tmp_path: Path,
) -> None:
    earlier = tmp_path / "old.json"
    earlier.write_text(json.dumps({"levels": [{"users": 5, "stats": {"p50_ms": 1.0}}]}))
    result = CliRunner().invoke(sim, ["validate", "--quick", "--measured", str(earlier)])
    assert result.exit_code == 2
    assert "without --measured" in result.output and "Traceback" not in result.output
