"""The twin's core against queueing theory: M/M/1, M/M/c (Erlang C), a Jackson tandem and
Little's law, each within 2% of the closed form (seeded, so each run is the same run)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model import (
    Call,
    Config,
    Cpu,
    Demand,
    Deployment,
    OpenWorkload,
    Operation,
    Result,
    run,
)

HORIZON_S = 4000.0
WARMUP_S = 200.0
# No deadline in queueing theory: a call far longer than any sojourn never times out.
NEVER_S = 1e9


def _open(operation: Operation, rate: float, **deployment: object) -> Result:
    return run(
        Config(
            operations={operation.name: operation},
            workload=OpenWorkload(rate=rate, mix={operation.name: 1.0}),
            horizon_s=HORIZON_S,
            warmup_s=WARMUP_S,
            deployment=Deployment(**deployment),  # type: ignore[arg-type]
            seed=7,
        )
    )


def erlang_c_wait(arrival: float, service: float, servers: int) -> float:
    """Mean time in an M/M/c system (queue plus service)."""
    load = arrival / service
    rho = load / servers
    top = load**servers / math.factorial(servers) / (1 - rho)
    bottom = sum(load**k / math.factorial(k) for k in range(servers)) + top
    waiting = top / bottom
    return waiting / (servers * service - arrival) + 1 / service


def test_mm1_mean_time_in_system_matches_one_over_mu_minus_lambda() -> None:
    mean_s, rate = 0.01, 60.0
    result = _open(Operation("q", "s", (Cpu(Demand(mean_s)),)), rate)
    expected = 1 / (1 / mean_s - rate)
    assert result.latency.mean() == pytest.approx(expected, rel=0.02)
    assert result.utilisation()["s"] == pytest.approx(rate * mean_s, rel=0.02)


def test_mmc_mean_time_in_system_matches_erlang_c() -> None:
    mean_s, rate, servers = 0.03, 80.0, 3
    result = _open(
        Operation("q", "s", (Cpu(Demand(mean_s)),)),
        rate,
        instances={"s": servers},
        pooled=True,
    )
    expected = erlang_c_wait(rate, 1 / mean_s, servers)
    assert result.latency.mean() == pytest.approx(expected, rel=0.02)


def test_round_robin_instances_queue_separately_and_wait_longer_than_a_shared_queue() -> None:
    mean_s, rate, servers = 0.03, 80.0, 3
    result = _open(Operation("q", "s", (Cpu(Demand(mean_s)),)), rate, instances={"s": servers})
    assert result.latency.mean() > erlang_c_wait(rate, 1 / mean_s, servers) * 1.1


def test_jackson_tandem_sojourn_is_the_sum_of_its_stations() -> None:
    first_s, second_s, rate = 0.008, 0.012, 50.0
    downstream = Call("b", (Cpu(Demand(second_s)),), deadline_s=NEVER_S)
    result = _open(Operation("q", "a", (Cpu(Demand(first_s)), downstream)), rate)
    expected = 1 / (1 / first_s - rate) + 1 / (1 / second_s - rate)
    assert result.latency.mean() == pytest.approx(expected, rel=0.02)
    utilisation = result.utilisation()
    assert utilisation["a"] == pytest.approx(rate * first_s, rel=0.02)
    assert utilisation["b"] == pytest.approx(rate * second_s, rel=0.02)


def test_littles_law_holds_for_the_waiting_line() -> None:
    mean_s, rate = 0.01, 70.0
    result = _open(Operation("q", "s", (Cpu(Demand(mean_s)),)), rate)
    queued = np.mean([n for t, n, _ in result.samples["s"] if t >= WARMUP_S])
    waiting_s = result.latency.mean() - mean_s
    assert queued == pytest.approx(result.throughput() * waiting_s, rel=0.02)
    assert result.throughput() == pytest.approx(rate, rel=0.02)


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    operation = Operation("q", "s", (Cpu(Demand(0.01)),))

    def once(seed: int) -> Result:
        workload = OpenWorkload(rate=50.0, mix={"q": 1.0})
        return run(Config({"q": operation}, workload, horizon_s=50.0, seed=seed))

    assert np.array_equal(once(3).latency, once(3).latency)
    assert not np.array_equal(once(3).latency, once(4).latency)
