"""Sweeps give the same answers on local processes and on a (local) Dask cluster."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from distributed import Client, LocalCluster

from loadtests.scenario import load_scenario
from sim.sweep import combine, estimate, sweep
from sim.twin import config, load_calibration

SMALL = load_scenario("sale_day").scaled(time=0.05, users=0.1)


def _configs() -> list:
    calibration = load_calibration("served")
    return [config(SMALL, calibration, seed=s) for s in range(3)]


def test_a_dask_cluster_runs_the_same_sweep_as_local_workers() -> None:
    with ThreadPoolExecutor(1) as local:
        expected = sweep(_configs(), local)
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        seen: list[int] = []
        got = sweep(_configs(), client.get_executor(), lambda done, total: seen.append(done))
    assert got == expected
    assert seen == [1, 2, 3]
    assert combine(got)["seeds"] == 3


def test_a_confidence_interval_narrows_with_more_seeds() -> None:
    few = estimate([1.0, 2.0, 3.0])
    many = estimate([1.0, 2.0, 3.0] * 10)
    assert few.mean == many.mean == pytest.approx(2.0)
    assert 0 < many.half_width < few.half_width
