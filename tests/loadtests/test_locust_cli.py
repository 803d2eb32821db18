"""Plain `locust -f loadtests/locustfile.py --host URL`, as a Locust user runs it, against a
cluster that is already running (served on free ports by `loadtests.serve`, seeded but not
staged): the master (or the standalone process) stages the sale through the public API, the
gates set the exit code, and bad input stops the run at start-up with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from estore.kit.testing import free_ports
from loadtests.run import LOCUSTFILE, ROOT, _env, _read_tagged, served_cluster
from loadtests.serve import READY
from tests.loadtests.sales import assert_the_storefront_spoke_graphql, short_sale

pytestmark = pytest.mark.e2e

LOCUST = Path(sys.executable).with_name("locust")
RUN_S = 120
BAD_INPUT = 2


@pytest.fixture(scope="module")
def sale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_sale(tmp_path_factory.mktemp("sale"))


@pytest.fixture(scope="module")
def host(sale: Path) -> Iterator[str]:
    with served_cluster(str(sale), auto_ports=True) as server:
        assert server.stdout
        yield str(_read_tagged(server.stdout, READY, 90)["gateway_url"])


def locust(*args: str) -> list[str]:
    return [str(LOCUST), "-f", str(LOCUSTFILE), "--loglevel", "WARNING", *args]


def headless(host: str, sale: Path, out: Path, *args: str) -> list[str]:
    run = ["--host", host, "--headless", "--only-summary", "--scenario", str(sale)]
    run += ["--time-scale", "0.65", "--report-dir", str(out)]
    return locust(*run, "--json-file", str(out / "stats"), *args)


def finished(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=_env({}), capture_output=True, text=True, timeout=RUN_S
    )


def assert_it_sold(out: Path, done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    stats: list[dict[str, Any]] = json.loads((out / "stats.json").read_text())
    assert_the_storefront_spoke_graphql(stats)
    outcomes = {s["name"]: s["num_requests"] for s in stats if s["method"] == "SAGA"}
    counts = {s["name"]: (s["num_requests"], s["num_failures"]) for s in stats}
    assert outcomes.get("confirmed", 0) > 0, (counts, done.stdout[-1500:])
    invariants = json.loads((out / "invariants.json").read_text())
    assert invariants["passed"] and invariants["checked_through"] == "api", invariants
    assert invariants["totals"]["orders"]["CONFIRMED"] > 0
    assert "load: gates passed" in done.stdout
    assert "load: invariant money: not checked from outside" in done.stdout


def test_a_standalone_headless_run_stages_the_sale_and_confirms_orders(
    host: str, sale: Path, tmp_path: Path
) -> None:
    assert_it_sold(tmp_path, finished(headless(host, sale, tmp_path)))


def test_a_master_with_one_worker_stages_once_and_confirms_orders(
    host: str, sale: Path, tmp_path: Path
) -> None:
    port = str(free_ports(1)[0])
    master = headless(host, sale, tmp_path, "--master", "--expect-workers", "1")
    master += ["--master-bind-host", "127.0.0.1", "--master-bind-port", port]
    worker = locust("--worker", "--master-host", "127.0.0.1", "--master-port", port)
    with subprocess.Popen(worker, cwd=ROOT, env=_env({}), stderr=subprocess.PIPE, text=True) as w:
        done = finished(master)
        assert w.wait(timeout=30) == 0
        worker_log = w.stderr.read() if w.stderr else ""
    assert_it_sold(tmp_path, done)
    assert "load: staged" in done.stderr and "load: staged" not in worker_log


def test_a_breached_gate_sets_the_exit_code(host: str, sale: Path, tmp_path: Path) -> None:
    impossible = sale.with_name("impossible.toml")
    impossible.write_text(sale.read_text().replace("min_requests = 20", "min_requests = 10000000"))
    command = headless(host, impossible, tmp_path, "--exit-code-on-error", "3")
    done = finished([*command, "--time-scale", "0.01"])
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-2000:]
    assert "load: gates FAILED" in done.stdout
    assert json.loads((tmp_path / "gates.json").read_text())["passed"] is False


@pytest.mark.parametrize(
    ("option", "line"),
    [
        (
            "--scenario=no-such-sale",
            "load: unknown scenario 'no-such-sale': name one of ci_sale, sale_day",
        ),
        ("--admin-password=wrong", "load: the sign-in of admin@example.com at http://127.0.0.1:"),
        ("--host=http://127.0.0.1:9", "load: cannot reach http://127.0.0.1:9: is the cluster"),
    ],
)
def test_bad_input_stops_at_start_up_with_one_line(host: str, option: str, line: str) -> None:
    done = finished(locust("--headless", "--host", host, option))
    assert done.returncode == BAD_INPUT, done.stderr
    assert line in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
