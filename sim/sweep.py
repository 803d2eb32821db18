"""Seeds (and what-ifs) run through a `concurrent.futures.Executor`, summarised with 95% CIs.

Local processes by default; a Dask distributed cluster's executor when a scheduler address is
given, so a sweep can outgrow one machine without code of its own for it.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model import Config, Result, run

# Student's t 97.5% quantiles for small seed counts; the normal's beyond.
_T975 = {
    1: 12.71,
    2: 4.30,
    3: 3.18,
    4: 2.78,
    5: 2.57,
    6: 2.45,
    7: 2.36,
    8: 2.31,
    9: 2.26,
    10: 2.23,
    15: 2.13,
    20: 2.09,
    30: 2.04,
}


def t975(dof: int) -> float:
    if dof < 1:
        return math.nan
    known = [d for d in _T975 if d <= dof]
    return _T975[max(known)] if dof <= 30 else 1.96


@dataclass(frozen=True)
class Estimate:
    mean: float
    half_width: float

    def __str__(self) -> str:
        return f"{self.mean:.1f} ± {self.half_width:.1f}"

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "ci95": self.half_width}


def estimate(values: Sequence[float]) -> Estimate:
    data = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if len(data) == 0:
        return Estimate(math.nan, math.nan)
    if len(data) == 1:
        return Estimate(float(data[0]), math.nan)
    half = t975(len(data) - 1) * float(data.std(ddof=1)) / math.sqrt(len(data))
    return Estimate(float(data.mean()), half)


@dataclass(frozen=True)
class Summary:
    """What one seed's run says, small enough to send back from a worker."""

    throughput: float
    failure_ratio: float
    p50_ms: float
    p95_ms: float
    per_operation: dict[str, dict[str, float]]
    utilisation: dict[str, float]
    breaker_opens: int


def summarise(result: Result) -> Summary:
    per_operation = {}
    for name in result.names:
        chosen = result.of(name)
        if not chosen.any():
            continue
        per_operation[name] = {
            "throughput": float((result.ok & chosen).sum()) / result.measured_s,
            "failure_ratio": float(1 - result.ok[chosen].mean()),
            "p50_ms": result.percentile(50, name) * 1000,
            "p95_ms": result.percentile(95, name) * 1000,
        }
    return Summary(
        throughput=result.throughput(),
        failure_ratio=result.failure_ratio(),
        p50_ms=result.percentile(50) * 1000,
        p95_ms=result.percentile(95) * 1000,
        per_operation=per_operation,
        utilisation=result.utilisation(),
        breaker_opens=result.breaker_opens,
    )


def simulate(config: Config) -> Summary:
    return summarise(run(config))


@contextlib.contextmanager
def executor(scheduler: str | None = None, jobs: int | None = None) -> Iterator[Executor]:
    """Local worker processes, or the Dask cluster at `scheduler`."""
    if scheduler is None:
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            yield pool
        return
    from distributed import Client

    with Client(scheduler) as client:
        yield client.get_executor()


def sweep(
    configs: Sequence[Config], pool: Executor, progress: Callable[[int, int], None] | None = None
) -> list[Summary]:
    """Every config's summary, in the order given; `progress(done, total)` as they finish."""
    futures = {pool.submit(simulate, c): i for i, c in enumerate(configs)}
    done: list[Any] = [None] * len(configs)
    for finished, future in enumerate(as_completed(futures), start=1):
        done[futures[future]] = future.result()
        if progress:
            progress(finished, len(configs))
    return done


def combine(summaries: Sequence[Summary]) -> dict[str, Any]:
    """Mean and 95% half-width across seeds, overall and per operation and service."""
    operations = sorted({n for s in summaries for n in s.per_operation})
    services = sorted({n for s in summaries for n in s.utilisation})
    keys = ("throughput", "failure_ratio", "p50_ms", "p95_ms")
    return {
        "seeds": len(summaries),
        **{k: estimate([getattr(s, k) for s in summaries]) for k in keys},
        "per_operation": {
            op: {
                k: estimate([s.per_operation[op][k] for s in summaries if op in s.per_operation])
                for k in keys
            }
            for op in operations
        },
        "utilisation": {
            svc: estimate([s.utilisation.get(svc, 0.0) for s in summaries]) for svc in services
        },
        "breaker_opens": estimate([float(s.breaker_opens) for s in summaries]),
    }
