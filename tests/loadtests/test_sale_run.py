"""One short headless sale against the served cluster, Locust distributed (a master and one
worker) in subprocesses: the gates pass, saga outcomes are counted, the invariants hold."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loadtests.sales import assert_the_storefront_spoke_graphql, short_sale

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_a_short_distributed_sale_passes_its_gates_and_keeps_the_invariants(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "loadtests.run", "--headless", "--ports", "auto"]
    command += ["--scenario", str(short_sale(tmp_path)), "--time-scale", "0.65"]
    command += ["--workers", "1", "--out", str(tmp_path / "out")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]

    (run,) = (tmp_path / "out").iterdir()
    gates = json.loads((run / "gates.json").read_text())
    invariants = json.loads((run / "invariants.json").read_text())
    assert gates["passed"] and gates["requests"] > 50
    assert invariants["passed"] and invariants["settled"], invariants
    with (run / "locust_stats.csv").open() as f:
        rows = list(csv.DictReader(f))
    outcomes = {r["Name"]: int(r["Request Count"]) for r in rows if r["Type"] == "SAGA"}
    assert outcomes.get("out of stock", 0) > 0, outcomes
    # Every answered checkout is an order in the store (an unanswered one may be too).
    assert 0 < sum(outcomes.values()) <= sum(invariants["totals"]["orders"].values())
    assert (run / "report.html").stat().st_size > 0
    assert_the_storefront_spoke_graphql(json.loads((run / "stats.json").read_text()))


@pytest.mark.timeout(420)
def test_a_short_sale_on_one_process_per_service_sells_out_and_keeps_the_api_invariants(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "loadtests.run", "--headless", "--ports", "auto"]
    command += ["--processes", "--scenario", str(short_sale(tmp_path)), "--time-scale", "0.65"]
    command += ["--out", str(tmp_path / "out")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]

    (run,) = (tmp_path / "out").iterdir()
    invariants = json.loads((run / "invariants.json").read_text())
    [running] = invariants["checks"]
    assert running == {
        "name": "every service still running",
        "passed": True,
        "checked": 8,
        "violations": [],
    }
    assert {"stock conservation", "money"} <= invariants["not_checked"].keys()
    assert invariants["api"]["passed"] and invariants["api"]["checked_through"] == "api"
    assert invariants["api"]["totals"]["orders"]["CONFIRMED"] > 0
    with (run / "locust_stats.csv").open() as f:
        outcomes = {r["Name"]: int(r["Request Count"]) for r in csv.DictReader(f)}
    assert outcomes.get("out of stock", 0) > 0, outcomes
    assert "load: not checked on the stores" in done.stdout
