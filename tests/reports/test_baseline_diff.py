"""The baseline diff: a slowed operation is a regression only when Mann-Whitney U finds it
significant and it is slower by at least the policy's minimum; throughput, error ratio and
benchmark figures are diffed too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports import compare
from reports.policy import load_policy
from tests.reports.plant import OPERATIONS, Artifacts, build, campaign_json, histogram, verdicts


@pytest.fixture(scope="module")
def clean_campaign() -> str:
    return campaign_json()


@pytest.fixture
def earlier(tmp_path: Path, clean_campaign: str) -> tuple[dict[str, object], str]:
    report = build(Artifacts(tmp_path / "earlier").clean(clean_campaign), tmp_path / "e" / "out")
    return report, "an earlier report"


def test_a_slowed_service_is_a_significant_regression_naming_the_operation(
    tmp_path: Path, clean_campaign: str, earlier: tuple[dict[str, object], str]
):
    slowed = dict(OPERATIONS, **{"gql Product": OPERATIONS["gql Product"] * 1.5})
    artifacts = Artifacts(tmp_path / "now").clean(clean_campaign)
    artifacts.plant_load(slowed)
    report = build(artifacts, tmp_path / "now" / "out", baseline=earlier)
    assert report["decision"]["verdict"] == "no-go"
    [rule] = [r for r in report["rules"] if r["rule"] == "no_latency_regression"]
    assert rule["verdict"] == "fail"
    assert rule["measured"] == "1 of 3 operation(s) slower than an earlier report"
    assert rule["evidence"][0].startswith("POST gql Product: median 24.5 -> 37 ms (+51%), p=")
    [diff] = [d for d in report["diffs"]["latency"] if d["regression"]]
    assert diff["operation"] == "POST gql Product"
    assert diff["p_value"] < 1e-6 and diff["effect_size"] > 0.5


def test_the_same_figures_are_no_regression(
    tmp_path: Path, clean_campaign: str, earlier: tuple[dict[str, object], str]
):
    report = build(
        Artifacts(tmp_path / "now").clean(clean_campaign), tmp_path / "now" / "out",
        baseline=earlier,
    )  # fmt: skip
    assert report["decision"]["verdict"] == "go"
    assert verdicts(report)["no_latency_regression"] == "pass"
    assert verdicts(report)["no_throughput_regression"] == "pass"
    assert verdicts(report)["no_benchmark_regression"] == "pass"
    assert report["baseline"]["label"] == "an earlier report"


def test_significance_alone_is_not_a_regression_below_the_minimum_slowdown():
    before, after = histogram(100, n=5000, spread=0.05), histogram(103, n=5000, spread=0.05)
    diff = compare.latency_diff("op", before, after, alpha=0.01, min_slowdown=0.10)
    assert diff.p_value < 0.01
    assert not diff.regression


def test_a_large_slowdown_on_too_few_samples_is_not_significant():
    before, after = histogram(100, n=3, spread=0.5), histogram(130, n=3, spread=0.5)
    diff = compare.latency_diff("op", before, after, alpha=0.01, min_slowdown=0.10)
    assert diff.slowdown >= 0.10
    assert diff.p_value >= 0.01
    assert not diff.regression


def test_a_throughput_drop_and_a_worse_benchmark_figure_are_regressions(
    tmp_path: Path, clean_campaign: str, earlier: tuple[dict[str, object], str]
):
    artifacts = Artifacts(tmp_path / "now").clean(clean_campaign)
    stats = artifacts.load_run / "stats.json"
    entries = json.loads(stats.read_text())
    for entry in entries:
        entry["last_request_timestamp"] = 1120.0  # the same requests over twice the time
    stats.write_text(json.dumps(entries))
    bench = artifacts.parts / "benchmarks" / "benchmarks.md"
    bench.write_text(bench.read_text().replace("| 470 |", "| 235 |"))
    report = build(artifacts, tmp_path / "now" / "out", baseline=earlier)
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["no_throughput_regression"]["verdict"] == "fail"
    assert "(-50%)" in rules["no_throughput_regression"]["evidence"][0]
    assert rules["no_benchmark_regression"]["verdict"] == "fail"
    assert (
        "gateway: `me` (auth only) | req/s: -50%" in rules["no_benchmark_regression"]["evidence"][0]
    )


def test_the_policy_thresholds_are_what_the_rules_apply(
    tmp_path: Path, clean_campaign: str, earlier: tuple[dict[str, object], str]
):
    slowed = dict(OPERATIONS, **{"gql Product": OPERATIONS["gql Product"] * 1.5})
    artifacts = Artifacts(tmp_path / "now").clean(clean_campaign)
    artifacts.plant_load(slowed)
    policy = load_policy()
    assert policy.rules.no_latency_regression is not None
    policy.rules.no_latency_regression.min_slowdown = 0.6
    report = build(artifacts, tmp_path / "now" / "out", baseline=earlier, policy=policy)
    assert verdicts(report)["no_latency_regression"] == "pass"
