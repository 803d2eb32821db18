"""One short headless sale against the served cluster, Locust distributed (a master and one
worker) in subprocesses: the gates pass, saga outcomes are counted, the invariants hold."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from loadtests.scenario import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]


def short_sale(tmp_path: Path) -> Path:
    """The sale day with one unit per sale item and brisk shoppers, so it surely sells out."""
    text = (SCENARIOS / "sale_day.toml").read_text()
    text = text.replace("stock = 12", "stock = 1").replace("stock = 8", "stock = 1")
    text = text.replace("stock = 25", "stock = 1").replace(
        "shopper_accounts = 120", "shopper_accounts = 20"
    )
    text = text.replace("min_s = 1.0", "min_s = 0.1").replace("max_s = 3.0", "max_s = 0.4")
    path = tmp_path / "short_sale.toml"
    path.write_text(text)
    return path


def test_a_short_distributed_sale_passes_its_gates_and_keeps_the_invariants(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "loadtests.run", "--headless", "--ports", "auto"]
    command += ["--scenario", str(short_sale(tmp_path)), "--time-scale", "0.065"]
    command += ["--user-scale", "0.1", "--workers", "1", "--out", str(tmp_path / "out")]
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


# Only the ticket service (not federated) is called over REST and its WebSocket.
TICKET_REQUESTS = {"rest OpenTicket", "rest AgentReply", "ws Chat"}


def assert_the_storefront_spoke_graphql(stats: list[dict[str, Any]]) -> None:
    requests = {s["name"]: s for s in stats if s["method"] != "SAGA"}
    graphql = {name for name, s in requests.items() if s["method"] == "POST" and name[:4] == "gql "}
    assert set(requests) - graphql <= TICKET_REQUESTS, sorted(requests)
    assert {"gql Login", "gql Products", "gql CartCheck", "gql CreateOrder"} <= graphql, graphql
    assert requests["gql CreateOrder"]["num_requests"] > 0
