"""Where a load run's CPU went: the steady window from Locust's history, rates interpolated
between samples, and the served and Locust processes told apart in a live process tree."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sim.usage import SETTLE_S, Sample, sample, steady_window, usage

HEADER = "Timestamp,User Count,Type,Name,Total Request Count\n"


def _history(tmp_path: Path, rows: list[tuple[int, int, int]]) -> Path:
    path = tmp_path / "locust_stats_history.csv"
    lines = [f"{at},{users},,Aggregated,{count}\n" for at, users, count in rows]
    path.write_text(HEADER + "".join(lines))
    return path


def test_the_steady_window_starts_after_every_user_runs_and_counts_its_requests(
    tmp_path: Path,
) -> None:
    # Ramping to 10 users by t=102, then 5 requests a second.
    rows = [(100, 4, 0), (101, 8, 3), (102, 10, 8)] + [
        (102 + s, 10, 8 + 5 * s) for s in range(1, 11)
    ]
    start, end, requests = steady_window(_history(tmp_path, rows), 10)
    assert start == 102 + SETTLE_S and end == 112
    assert requests == 5 * (end - start)


def test_a_level_that_never_ran_all_its_users_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="never ran all 10 users"):
        steady_window(_history(tmp_path, [(100, 4, 0), (101, 8, 3)]), 10)


def test_usage_interpolates_cumulative_cpu_between_samples(tmp_path: Path) -> None:
    rows = [(100 + s, 10, 10 * s) for s in range(21)]
    # The served process computes half a core, Locust a tenth, the machine 1.5 cores busy;
    # samples every 0.7 s do not fall on the window's ends.
    # Its loop ran 0.45 s a second and waited 0.15 for a core: it ran 75% of its turns' time.
    samples = [
        Sample(
            at=99 + 0.7 * i,
            served_cpu_s=0.5 * 0.7 * i,
            served_waiting_s=0.15 * 0.7 * i,
            locust_cpu_s=0.1 * 0.7 * i,
            machine_busy_s=1.5 * 0.7 * i,
            served_running_s=0.45 * 0.7 * i,
        )
        for i in range(40)
    ]
    seen = usage(samples, _history(tmp_path, rows), 10)
    assert seen.requests_per_s == pytest.approx(10.0)
    assert seen.served_cpu == pytest.approx(0.5)
    assert seen.served_waiting == pytest.approx(0.15)
    assert seen.served_share == pytest.approx(0.75)
    assert seen.locust_share == 1.0  # never seen running: no share measured
    assert seen.locust_cpu == pytest.approx(0.1)
    assert seen.others_cpu == pytest.approx(0.9)
    assert seen.to_json()["served_cpu_ms_per_request"] == pytest.approx(50.0)


def test_a_sample_tells_the_served_process_from_the_rest_of_the_tree() -> None:
    # A busy child whose command line names the serving module, as loadtests.run starts it.
    child = subprocess.Popen(
        [sys.executable, "-c", "while True: pass", "-m", "loadtests.serve"],
    )
    try:
        me = psutil.Process()
        deadline = time.monotonic() + 60
        seen = sample(me, time.monotonic)
        while seen.served_cpu_s == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = sample(me, time.monotonic)
        assert seen.served_cpu_s > 0
        assert seen.locust_cpu_s == 0
    finally:
        child.kill()
        child.wait()
