"""The serving process of a load run on one process per service: its check says whether every
service still runs, and names the store invariants it cannot read."""

from __future__ import annotations

import subprocess
import sys

from estore.processes import Child, Supervisor
from loadtests.serve import STORE_CHECKS, processes_report


def ended_child(name: str, code: int) -> Child:
    child = Child(name, [sys.executable, "-c", f"raise SystemExit({code})"], {}, "http://x")
    child.process = subprocess.Popen(child.command)
    child.process.wait(timeout=30)
    return child


def running_child(name: str) -> Child:
    child = Child(name, [sys.executable, "-c", "import time; time.sleep(60)"], {}, "http://x")
    child.start()
    return child


def test_the_check_passes_while_every_service_runs_and_names_what_it_cannot_read() -> None:
    supervisor = Supervisor([running_child("order"), running_child("product")])
    try:
        report = processes_report(supervisor)
    finally:
        supervisor.stop()
    [running] = report.checks
    assert report.passed and running.passed and running.checked == 2
    assert set(report.not_checked) == set(STORE_CHECKS)


def test_the_check_fails_naming_a_service_that_ended_during_the_load() -> None:
    supervisor = Supervisor([running_child("order"), ended_child("coupon", 3)])
    try:
        report = processes_report(supervisor)
    finally:
        supervisor.stop()
    assert not report.passed
    assert report.checks[0].violations == ["coupon exited (status 3)"]
