"""Planted problems give no-go naming the rule; clean artifacts give go; a part that did not
run leaves no decision unless the policy makes it optional."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from reports.policy import load_policy
from reports.report import SCHEMA
from tests.reports.plant import (
    OPERATIONS,
    Artifacts,
    build,
    campaign_json,
    capacity,
    junit,
    validation,
    verdicts,
)


@pytest.fixture(scope="module")
def clean_campaign() -> str:
    return campaign_json()


@pytest.fixture
def artifacts(tmp_path: Path, clean_campaign: str) -> Artifacts:
    return Artifacts(tmp_path).clean(clean_campaign)


def written(out: Path) -> dict[str, object]:
    [path] = out.glob("*/report.json")
    report = json.loads(path.read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    return report


def test_clean_artifacts_give_go_with_every_rule_judged(artifacts: Artifacts, tmp_path: Path):
    report = build(artifacts, tmp_path / "out")
    assert report["decision"]["verdict"] == "go", report["decision"]
    assert report["decision"]["exit_code"] == 0
    assert set(verdicts(report).values()) == {"pass", "no baseline"}
    assert written(tmp_path / "out") == report


def test_a_mutant_saga_gives_no_go_naming_the_invariant_rule_and_its_replay(
    artifacts: Artifacts, tmp_path: Path
):
    artifacts.write("chaos/campaign/summary.json", campaign_json(mutant="double_charge"))
    report = build(artifacts, tmp_path / "out")
    assert report["decision"]["verdict"] == "no-go"
    assert "chaos_invariants_hold" in report["decision"]["headline"]
    [rule] = [r for r in report["rules"] if r["rule"] == "chaos_invariants_hold"]
    assert rule["verdict"] == "fail"
    assert rule["reproduce"][0].startswith("estore chaos replay --seed ")
    assert "--mutant double_charge  # at commit " in rule["reproduce"][0]
    assert rule["artifact"] == "../../parts/chaos/campaign/summary.json"


def test_an_uncaught_mutant_gives_no_go(artifacts: Artifacts, tmp_path: Path):
    artifacts.write(
        "chaos/mutants.log",
        "UNCAUGHT refund_skipped   in 300 schedules: a refund skipped\n0/1 mutants caught\n",
    )
    report = build(artifacts, tmp_path / "out")
    assert report["decision"]["verdict"] == "no-go"
    assert verdicts(report)["mutants_caught"] == "fail"


def test_a_broken_contract_gives_no_go_naming_the_pact_rule(artifacts: Artifacts, tmp_path: Path):
    failing = (
        "contracts.providers.test_verify_auth",
        "test_auth_honours_its_pacts",
        "gateway -&gt; auth: a request for the JSON Web Key Set: $.keys[0].kid missing",
    )
    artifacts.write("contracts/junit.xml", junit([failing]))
    report = build(artifacts, tmp_path / "out")
    assert report["decision"]["verdict"] == "no-go"
    [rule] = [r for r in report["rules"] if r["rule"] == "pacts_verified"]
    assert rule["verdict"] == "fail"
    assert "gateway -> auth: a request for the JSON Web Key Set" in rule["evidence"][0]
    assert rule["reproduce"] == [
        "pytest 'contracts/providers/test_verify_auth.py::test_auth_honours_its_pacts'"
    ]
    assert verdicts(report)["fuzzing_clean"] == "fail"  # no fuzzing test ran at all


def test_a_breaking_schema_change_fails_unless_the_policy_flags_it(
    artifacts: Artifacts, tmp_path: Path
):
    change = "FIELD_REMOVED: Field Product.price was removed."
    artifacts.write("schema/snapshot.log", f"breaking: {change}\n")
    assert verdicts(build(artifacts, tmp_path / "a"))["no_breaking_schema_change"] == "fail"
    policy = load_policy()
    assert policy.rules.no_breaking_schema_change is not None
    policy.rules.no_breaking_schema_change.allowed = [change]
    report = build(artifacts, tmp_path / "b", policy=policy)
    assert verdicts(report)["no_breaking_schema_change"] == "pass"


def test_a_failed_gate_gives_no_go_naming_the_gate_rule(artifacts: Artifacts, tmp_path: Path):
    breach = {"gate": "p95 ms", "subject": "gql Product", "limit": 1500, "actual": 2300.0,
              "minimum": False, "text": "p95 ms gql Product: 2300 > 1500"}  # fmt: skip
    artifacts.plant_load(OPERATIONS, breaches=[breach])
    report = build(artifacts, tmp_path / "out")
    assert report["decision"]["verdict"] == "no-go"
    [rule] = [r for r in report["rules"] if r["rule"] == "load_gates_met"]
    assert rule["evidence"] == ["p95 ms gql Product: 2300 > 1500"]
    assert rule["reproduce"][0].startswith("python -m loadtests.run --headless --scenario sale_day")


def test_too_little_headroom_and_a_failed_validation_give_no_go(
    artifacts: Artifacts, tmp_path: Path
):
    artifacts.write_json("sim/capacity/capacity.json", capacity(headroom=0.05))
    report = build(artifacts, tmp_path / "out")
    assert verdicts(report)["capacity_headroom"] == "fail"
    assert report["decision"]["verdict"] == "no-go"


def test_a_part_without_artifacts_gives_no_decision_unless_it_is_optional(
    artifacts: Artifacts, tmp_path: Path
):
    for path in (artifacts.parts / "sim").rglob("*.json"):
        path.unlink()
    report = build(artifacts, tmp_path / "a")
    assert report["decision"]["verdict"] == "no decision"
    assert report["decision"]["exit_code"] == 2
    assert verdicts(report)["forecast_validated"] == "not run"
    assert "sim" in " ".join(report["decision"]["reasons"])
    policy = load_policy()
    policy.optional.append("sim")
    assert build(artifacts, tmp_path / "b", policy=policy)["decision"]["verdict"] == "go"


def test_a_failure_outranks_a_part_that_did_not_run(artifacts: Artifacts, tmp_path: Path):
    (artifacts.parts / "sim" / "validate" / "validation.json").unlink()
    artifacts.write("chaos/campaign/summary.json", campaign_json(mutant="double_charge"))
    assert build(artifacts, tmp_path / "out")["decision"]["verdict"] == "no-go"


def test_an_unreadable_artifact_is_not_run_with_the_reason(artifacts: Artifacts, tmp_path: Path):
    artifacts.write("sim/capacity/capacity.json", "{not json")
    report = build(artifacts, tmp_path / "out")
    [rule] = [r for r in report["rules"] if r["rule"] == "capacity_headroom"]
    assert rule["verdict"] == "not run"
    assert "unreadable artifact" in rule["measured"] and "not JSON" in rule["measured"]


def test_the_same_artifacts_give_the_same_report_apart_from_timestamps(
    tmp_path: Path, clean_campaign: str
):
    from datetime import timedelta

    from reports.report import VOLATILE
    from tests.reports.plant import NOW

    first = Artifacts(tmp_path / "one").clean(clean_campaign)
    second = Artifacts(tmp_path / "two").clean(campaign_json())  # the same seed, run again
    a = build(first, tmp_path / "one" / "out")
    b = build(second, tmp_path / "two" / "out", now=NOW + timedelta(hours=1))

    def stable(report: dict[str, object]) -> str:
        return json.dumps({k: v for k, v in report.items() if k not in VOLATILE}, sort_keys=True)

    assert a["generated_at"] != b["generated_at"]
    assert stable(a) == stable(b)


def test_a_forecast_off_its_goal_gives_no_go(artifacts: Artifacts, tmp_path: Path):
    artifacts.write_json("sim/validate/validation.json", validation(met=False))
    report = build(artifacts, tmp_path / "out")
    [rule] = [r for r in report["rules"] if r["rule"] == "forecast_validated"]
    assert rule["verdict"] == "fail"
    assert rule["measured"] == "3 load level(s); worst p95 error 60.0%"
    assert rule["reproduce"][0].startswith("python -m estore.cli sim validate --out reports/repro")


def test_junit_has_one_case_per_rule_and_fails_the_failed_ones(
    artifacts: Artifacts, tmp_path: Path
):
    artifacts.write_json("sim/capacity/capacity.json", capacity(headroom=0.05))
    report = build(artifacts, tmp_path / "out")
    [path] = (tmp_path / "out").glob("*/junit.xml")
    suite = ET.parse(path).getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == [r["rule"] for r in report["rules"]]
    assert cases["capacity_headroom"].find("failure") is not None
    assert cases["no_latency_regression"].find("skipped") is not None  # no baseline
    assert cases["pacts_verified"].find("failure") is None
    assert suite.get("failures") == "1"
