"""Plant artifacts the way each part writes them, clean by default; a test then breaks one."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.campaign import run_campaign, schedule_seeds
from reports.cli import make_report
from reports.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CAMPAIGN_SCHEDULES = 4
OPERATIONS = {"gql Products": 40.0, "gql Product": 25.0, "gql CreateOrder": 120.0}


def junit(cases: list[tuple[str, str, str | None]]) -> str:
    """JUnit XML as pytest writes it: (classname, name, failure message or None)."""
    rows = []
    for classname, name, failure in cases:
        body = f'<failure message="{failure}">{failure}</failure>' if failure else ""
        rows.append(f'<testcase classname="{classname}" name="{name}" time="0.1">{body}</testcase>')
    failures = sum(1 for *_, f in cases if f)
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
        f'errors="0" failures="{failures}" tests="{len(cases)}">{"".join(rows)}</testsuite>'
        "</testsuites>"
    )


CLEAN_CONTRACTS = [
    ("contracts.providers.test_verify_auth", "test_auth_honours_its_pacts", None),
    ("contracts.consumers.test_order_payment", "test_order_charges_a_card", None),
    ("contracts.test_deploy_matrix", "test_every_pairing_is_compatible", None),
    ("contracts.fuzz.test_graphql", "test_graphql_fuzz_finds_nothing", None),
    ("contracts.schema.test_schema", "test_the_snapshot_matches", None),
]


def histogram(median_ms: float, n: int = 200, spread: float = 0.3) -> dict[str, int]:
    """A response-time histogram of `n` requests around `median_ms` (Locust's ms buckets)."""
    steps = 21
    counts: dict[str, int] = {}
    for i in range(steps):
        ms = round(median_ms * (1 - spread + 2 * spread * i / (steps - 1)))
        counts[str(ms)] = counts.get(str(ms), 0) + n // steps + (1 if i < n % steps else 0)
    return counts


def locust_stats(medians: dict[str, float]) -> list[dict[str, Any]]:
    entries = []
    for name, median in medians.items():
        times = histogram(median)
        entries.append(
            {
                "name": name, "method": "POST", "start_time": 1000.0,
                "last_request_timestamp": 1060.0, "num_requests": sum(times.values()),
                "num_failures": 0, "response_times": times,
            }
        )  # fmt: skip
    return entries


class Artifacts:
    """A parts folder with every part's artifacts, all clean until a test plants a fault."""

    def __init__(self, root: Path) -> None:
        self.parts = root / "parts"
        self.load_run = self.parts / "load" / "20261201T120000Z"

    def write(self, relative: str, text: str) -> Path:
        path = self.parts / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def write_json(self, relative: str, data: Any) -> Path:
        return self.write(relative, json.dumps(data, indent=2))

    def clean(self, campaign: str) -> Artifacts:
        self.write("contracts/junit.xml", junit(CLEAN_CONTRACTS))
        self.write("schema/snapshot.log", "identical to the snapshot\n")
        self.write("chaos/campaign/summary.json", campaign)
        self.write(
            "chaos/mutants.log",
            "caught   double_charge            after    3 schedule(s) by money; "
            "estore chaos replay --seed 7 --mutant double_charge\n1/1 mutants caught\n",
        )
        self.write_json(
            "chaos/experiments/experiments.json",
            {"kind": "chaos-experiments", "experiments": [
                {"title": "Payment processor down", "verdict": "passed", "reasons": [],
                 "figures": {"breaker-state": "open", "seconds-to-steady": 30.1}},
            ]},
        )  # fmt: skip
        self.plant_load(OPERATIONS)
        self.write_json("sim/validate/validation.json", validation(met=True))
        self.write_json("sim/capacity/capacity.json", capacity(headroom=0.5))
        self.write("benchmarks/benchmarks.md", (ROOT / "reports" / "benchmarks.md").read_text())
        return self

    def plant_load(
        self, medians: dict[str, float], breaches: list[dict[str, Any]] | None = None
    ) -> None:
        breaches = breaches or []
        run = "load/" + self.load_run.name
        self.write_json(
            f"{run}/gates.json",
            {"passed": not breaches, "requests": 600, "failures": 0, "failure_ratio": 0.0,
             "breaches": breaches},
        )  # fmt: skip
        self.write_json(
            f"{run}/invariants.json",
            {"passed": True, "checks": [{"name": "money", "passed": True, "checked": 9}]},
        )
        self.write_json(f"{run}/stats.json", locust_stats(medians))
        history = self.parts / run / "locust_stats_history.csv"
        with history.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["Timestamp", "User Count", "Type", "Name", "50%", "95%"])
            for second in range(0, 60, 5):
                writer.writerow([1000 + second, second, "", "Aggregated", 40, 90 + second])


def campaign_json(seed: int = 1, mutant: str | None = None) -> str:
    """A real campaign's summary.json (a few schedules of the chaos harness)."""
    result = run_campaign(
        schedule_seeds(seed, CAMPAIGN_SCHEDULES), mutant=mutant, shrink=False, stop_at_first=True
    )
    return result.to_json()


def validation(met: bool) -> dict[str, Any]:
    def level(users: int, factor: float) -> dict[str, Any]:
        measured = {"throughput": users * 2.0, "p50_ms": 40.0, "p95_ms": 90.0}
        predicted = {k: v * factor for k, v in measured.items()}
        error = {"throughput": factor - 1, "p50": factor - 1, "p95": factor - 1}
        return {"users": users, "measured": measured, "predicted": predicted, "error": error,
                "used_for_calibration": users == 10}  # fmt: skip

    factor = 1.05 if met else 1.6
    return {
        "calibration": "10 users",
        "levels": [level(10, 1.0), level(40, factor), level(80, factor)],
        "goal": {"p95_error": 0.15},
        "met": met,
    }


def capacity(headroom: float) -> dict[str, Any]:
    return {
        "scenario": "sale_day", "peak_rps_needed": 100.0,
        "max_rps_served": 100.0 * (1 + headroom), "headroom": headroom,
        "bottleneck": {"service": "order", "utilisation": 0.8},
        "instances_for_target": {"order": 2},
        "what_ifs": [{"name": "order x2", "max_rps_served": 260.0, "headroom": 1.6}],
    }  # fmt: skip


def build(
    artifacts: Artifacts,
    out: Path,
    *,
    policy: Policy | None = None,
    baseline: tuple[dict[str, Any], str] | None = None,
    now: datetime = NOW,
    screenshot: bool = False,
) -> dict[str, Any]:
    """Judge the planted artifacts as `estore report --artifacts` does."""
    report_dir = out / now.strftime("%Y%m%dT%H%M%SZ")
    return make_report(
        "quick",
        1,
        policy or load_policy(),
        baseline,
        report_dir,
        artifacts.parts,
        now,
        out,
        screenshot,
    )


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {rule["rule"]: rule["verdict"] for rule in report["rules"]}
