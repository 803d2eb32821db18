"""`estore sim capacity`: the gates it searches within, the instances it plans, its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from loadtests.scenario import load_scenario
from sim.capacity import PLANNED_UTILISATION, instances_for, within_gates
from sim.cli import sim
from sim.sweep import Summary

SALE = load_scenario("sale_day")


def _summary(failure_ratio: float, p95_ms: float, name: str = "gql Products") -> Summary:
    per = {
        name: {"throughput": 1.0, "failure_ratio": failure_ratio, "p50_ms": 1.0, "p95_ms": p95_ms}
    }
    return Summary(1.0, failure_ratio, 1.0, p95_ms, per, {}, 0)


def test_the_gates_refuse_too_many_failures_and_a_slow_named_operation() -> None:
    assert within_gates(_summary(0.0, 1400.0), SALE)
    assert not within_gates(_summary(0.02, 100.0), SALE)
    # Products has a 1500 ms gate of its own, tighter than the default 2000 ms.
    assert not within_gates(_summary(0.0, 1600.0), SALE)
    assert within_gates(_summary(0.0, 1600.0, name="gql Categories"), SALE)


def test_instances_keep_every_service_under_the_planned_utilisation() -> None:
    planned = instances_for(1000.0, {"gateway": 0.004, "auth": 0.00001})
    assert planned == {"auth": 1, "gateway": 6}
    assert 1000.0 * 0.004 / planned["gateway"] <= PLANNED_UTILISATION


def test_quick_capacity_writes_the_report_fields(tmp_path: Path) -> None:
    result = CliRunner().invoke(sim, ["capacity", "--quick", "--jobs", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    answer = json.loads((tmp_path / "capacity.json").read_text())
    assert answer["scenario"] == "sale-day"
    assert answer["max_rps_served"] > 0
    assert answer["headroom"] == answer["max_rps_served"] / answer["peak_rps_needed"] - 1
    assert answer["bottleneck"]["service"] in answer["instances_for_target"]
    assert 0 < answer["bottleneck"]["utilisation"] <= 1
    assert answer["what_ifs"][0]["name"] == "payment 3x slower"
    assert (tmp_path / "latency_vs_load.png").stat().st_size > 0
    assert "bottleneck" in result.output


def test_capacity_refuses_zero_instances() -> None:
    result = CliRunner().invoke(sim, ["capacity", "--quick", "--instances", "product=0"])
    assert result.exit_code == 2
    assert "at least 1" in result.output
