"""Benchmark: how fast the SimPy twin simulates, against a plain SimPy queueing model.

Run: .venv/bin/python benchmarks/bench_sim.py [--rounds 3] [--seeds 30] [--jobs 2]

Simulated requests per second of one core (the process's CPU time, which on a shared machine
is the wall time the core was ours), best of `--rounds` interleaved rounds so background load
hits every path alike:

  mmc reference   a plain three-station M/M/c tandem in bare SimPy (c = 2, each station at
                  60% utilisation): the floor a lean model is measured against
  full graph      the twin over the committed served calibration, every operation with its
                  call tree (calls, Redis calls, the kit client's deadline, retries and
                  breaker), Poisson arrivals in the sale day's operation mix, below saturation
  sale day        the stock sale day (closed workload, users over time, past saturation in
                  its hold phase), one seed

Then the stock sale day over `--seeds` seeds through the sweep's local process pool
(`--jobs` processes), timed end to end as `estore sim run` runs it. Each figure also as time
per simulated request and per run (one seed of the sale day is one run of "sale day").
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import simpy

from loadtests.scenario import load_scenario
from sim.model import Config, Deployment, OpenWorkload, Result, run
from sim.sweep import executor, sweep
from sim.twin import SERVED, config, load_calibration, operations

STATIONS = 3
SERVERS = 2
MMC_SERVICE_S = 0.01
MMC_RATE = 0.6 * SERVERS / MMC_SERVICE_S
# Below the served cluster's saturation (about 90 req/s on one loop).
FULL_GRAPH_RATE = 50.0


def mmc_reference(requests: int, seed: int = 1) -> int:
    """A Poisson stream through three M/M/c stations in turn; the requests completed."""
    env = simpy.Environment()
    rng = random.Random(seed)
    stations = [simpy.Resource(env, capacity=SERVERS) for _ in range(STATIONS)]
    done = 0

    def request() -> Generator[simpy.Event, Any, None]:
        nonlocal done
        for station in stations:
            with station.request() as turn:
                yield turn
                yield env.timeout(rng.expovariate(1 / MMC_SERVICE_S))
        done += 1

    def arrivals() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(rng.expovariate(MMC_RATE))
            env.process(request())

    env.process(arrivals())
    env.run(until=requests / MMC_RATE)
    return done


def sale_day_mix(calibration: dict[str, Any]) -> dict[str, float]:
    """The operations' shares in a sale day, as the twin's users send them."""
    scenario = load_scenario("sale_day").scaled(time=0.2)
    result = run(config(scenario, calibration, seed=1))
    counts = Counter(result.names[i] for i in result.operation)
    return {name: float(n) for name, n in counts.items()}


def full_graph_config(calibration: dict[str, Any], requests: int) -> Config:
    return Config(
        operations=operations(calibration, redis_computes=True),
        workload=OpenWorkload(rate=FULL_GRAPH_RATE, mix=sale_day_mix(calibration)),
        horizon_s=requests / FULL_GRAPH_RATE,
        deployment=Deployment(shared=SERVED),
        seed=1,
    )


def timed(work: Callable[[], int]) -> tuple[float, int]:
    """CPU seconds of this process: on a shared machine, the time the core was ours."""
    started = time.process_time()
    count = work()
    return time.process_time() - started, count


def completed(result: Result) -> int:
    return len(result.latency)


def one_core(rounds: int, requests: int) -> dict[str, tuple[float, int]]:
    """Each path's best rate (requests per wall second) over interleaved rounds, with the
    requests one run of it simulates."""
    calibration = load_calibration("served")
    full = full_graph_config(calibration, requests)
    sale_day = config(load_scenario("sale_day"), calibration, seed=1)
    paths: dict[str, Callable[[], int]] = {
        "mmc reference": lambda: mmc_reference(requests),
        "full graph": lambda: completed(run(full)),
        "sale day": lambda: completed(run(sale_day)),
    }
    best: dict[str, tuple[float, int]] = {}
    for number in range(1, rounds + 1):
        for name, work in paths.items():
            seconds, count = timed(work)
            rate = count / seconds
            best[name] = max(best.get(name, (0.0, 0)), (rate, count))
            print(
                f"round {number} {name:<14} {count:>7} requests in {seconds:6.2f} s: {rate:,.0f}/s"
            )
    return best


def sale_day_seeds(seeds: int, jobs: int) -> tuple[float, int]:
    calibration = load_calibration("served")
    scenario = load_scenario("sale_day")
    configs = [config(scenario, calibration, seed=scenario.seed + i) for i in range(seeds)]

    def progress(done: int, total: int) -> None:
        print(f"sale day seeds: {done}/{total}", flush=True)

    started = time.perf_counter()
    with executor(jobs=jobs) as pool:
        summaries = sweep(configs, pool, progress)
    seconds = time.perf_counter() - started
    return seconds, round(sum(s.throughput for s in summaries) * scenario.duration_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40_000, help="per one-core path")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    best = one_core(args.rounds, args.requests)
    reference, _ = best["mmc reference"]
    print(f"\n{'path':<14} {'requests/s':>11} {'x mmc':>6} {'us/request':>11} {'s/run':>7}")
    for name, (rate, count) in best.items():
        print(
            f"{name:<14} {rate:>11,.0f} {rate / reference:>6.2f} {1e6 / rate:>11.1f} "
            f"{count / rate:>7.2f}"
        )
    seconds, served = sale_day_seeds(args.seeds, args.jobs)
    print(
        f"stock sale day, {args.seeds} seeds on {args.jobs} processes: {seconds:.1f} s "
        f"({served:,} requests served; {seconds / args.seeds:.2f} s a seed, "
        f"{1e6 * seconds / served:.1f} us a request, wall time)"
    )


if __name__ == "__main__":
    main()
