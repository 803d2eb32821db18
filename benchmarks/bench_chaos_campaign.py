"""Benchmark: campaign schedules per second (one process and forked jobs), the mutant check's
size and time, and where a schedule's time goes (self time by package).

Run: .venv/bin/python benchmarks/bench_chaos_campaign.py [--schedules 120] [--jobs 2]
     [--no-mutants] [--profile 20]

The campaign half runs the same seeds with one job and with `--jobs` forked jobs, chunk by
chunk in turn so background load hits both alike, and prints the ratio and the projected time
of the issue's release size (10,000 schedules). The mutant check is `estore chaos mutants` as
CI runs it (every mutant, up to 1,000 schedules each, stopping at the first catch). The
profile is cProfile over `--profile` schedules, each played on a fresh stage built outside
the profile, its self time summed by the package the function lives in.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter

from chaos.campaign import run_campaign, schedule_seeds
from chaos.mutants import MUTANTS
from chaos.run import Stage, quiet_logs
from chaos.schedule import generate

RELEASE_SIZE = 10_000
MUTANT_LIMIT = 1_000
CHUNKS = 4
# Where a function lives, by path fragment, most specific first.
PACKAGES = (
    ("estore/kit/fastmongo", "fake Mongo fast paths (estore.kit.fastmongo)"),
    ("mongomock", "mongomock (fake Mongo)"),
    ("bson", "mongomock (fake Mongo)"),
    ("estore/services", "services (estore.services)"),
    ("estore/gateway", "gateway (estore.gateway)"),
    ("estore/kit", "kit (clients, events, identity, app)"),
    ("fakeredis", "fake Redis (fakeredis, redis-py)"),
    ("/redis/", "fake Redis (fakeredis, redis-py)"),
    ("fastapi", "FastAPI, Starlette, pydantic"),
    ("starlette", "FastAPI, Starlette, pydantic"),
    ("pydantic", "FastAPI, Starlette, pydantic"),
    ("graphql", "graphql-core, strawberry"),
    ("strawberry", "graphql-core, strawberry"),
    ("httpx", "httpx"),
    ("opentelemetry", "OpenTelemetry"),
    ("structlog", "logging"),
    ("logging", "logging"),
    ("asyncio", "asyncio"),
    ("/chaos/", "harness (chaos)"),
)


def campaign_rates(seeds: list[int], jobs: int) -> dict[int, tuple[int, float]]:
    spent: dict[int, list[float]] = {1: [], jobs: []}
    size = max(1, len(seeds) // CHUNKS)
    for start in range(0, len(seeds), size):
        chunk = seeds[start : start + size]
        for way in spent:
            spent[way].append(run_campaign(chunk, jobs=way, shrink=False).seconds)
    return {way: (len(seeds), sum(times)) for way, times in spent.items()}


def mutant_check(jobs: int) -> list[tuple[str, int, float, bool]]:
    rows = []
    for name in MUTANTS:
        result = run_campaign(
            schedule_seeds(1, MUTANT_LIMIT),
            mutant=name,
            shrink=False,
            stop_at_first=True,
            jobs=jobs,
        )
        rows.append((name, result.schedules, result.seconds, bool(result.failures)))
    return rows


def profile(seeds: list[int]) -> tuple[float, Counter[str], Counter[str]]:
    profiler = cProfile.Profile()
    for seed in seeds:
        stage = Stage()
        schedule = generate(seed)
        profiler.enable()
        stage.play(schedule)
        profiler.disable()
        stage.close()
    stats = pstats.Stats(profiler)
    by_package: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for (path, line, name), (_, _, self_time, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(path)] += self_time
        functions[f"{name} ({'/'.join(path.split('/')[-2:])}:{line})"] += self_time
    return sum(by_package.values()), by_package, functions


def _package(path: str) -> str:
    for fragment, name in PACKAGES:
        if fragment in path:
            return name
    return "other (stdlib: copy, json, contextlib, ...)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-mutants", dest="mutants", action="store_false")
    parser.add_argument("--profile", type=int, default=20, help="schedules to profile (0: none)")
    args = parser.parse_args()
    quiet_logs()
    seeds = schedule_seeds(20261202, args.schedules)
    run_campaign(seeds[:2], shrink=False)  # imports and first-use caches
    rates = campaign_rates(seeds, args.jobs)
    base = rates[1][0] / rates[1][1]
    print(
        f"{'jobs':>4} {'schedules':>9} {'seconds':>8} {'schedules/s':>12} {'x':>5} "
        f"{'10k schedules':>14}"
    )
    for way, (count, seconds) in rates.items():
        rate = count / seconds
        print(
            f"{way:>4} {count:>9} {seconds:>8.1f} {rate:>12.2f} {rate / base:>5.2f} "
            f"{RELEASE_SIZE / rate / 60:>11.1f} min"
        )
    if args.mutants:
        started = time.perf_counter()
        rows = mutant_check(args.jobs)
        print(
            f"mutant check ({len(rows)} mutants, limit {MUTANT_LIMIT}, jobs {args.jobs}): "
            f"{sum(r[1] for r in rows)} schedules in {time.perf_counter() - started:.1f} s, "
            f"{sum(r[3] for r in rows)}/{len(rows)} caught"
        )
        for name, count, seconds, caught in rows:
            print(
                f"  {name:<28} {'caught' if caught else 'UNCAUGHT'} after {count:>4} in "
                f"{seconds:6.1f} s"
            )
    if args.profile:
        total, by_package, functions = profile(seeds[: args.profile])
        print(f"self time by package over {args.profile} schedules (cProfile, {total:.1f} s):")
        for name, spent in by_package.most_common():
            print(f"  {100 * spent / total:5.1f}%  {name}")
        print("the functions with the most self time:")
        for name, spent in functions.most_common(12):
            print(f"  {100 * spent / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
