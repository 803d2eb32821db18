"""The diff against a baseline: latency distributions with Mann-Whitney U, the rest as ratios.

Latency distributions are Locust's response-time histograms (milliseconds, rounded the way
Locust buckets them) per operation, kept in every report.json so a later report can compare.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

Histogram = dict[str, int]


def samples(histogram: Histogram) -> np.ndarray:
    values = [float(ms) for ms in histogram]
    counts = [int(n) for n in histogram.values()]
    return np.repeat(np.array(values, dtype=float), counts)


def percentile(histogram: Histogram, q: float) -> float:
    values = samples(histogram)
    return float(np.percentile(values, q)) if values.size else 0.0


@dataclass
class LatencyDiff:
    operation: str
    baseline_n: int
    current_n: int
    baseline_median_ms: float
    current_median_ms: float
    slowdown: float
    p_value: float
    effect_size: float
    regression: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def latency_diff(
    operation: str,
    baseline: Histogram,
    current: Histogram,
    *,
    alpha: float,
    min_slowdown: float,
) -> LatencyDiff:
    """One-sided Mann-Whitney U (current slower?) with the rank-biserial effect size.

    A regression needs both: p < alpha and a median slowdown of at least min_slowdown.
    """
    before, after = samples(baseline), samples(current)
    test = mannwhitneyu(after, before, alternative="greater")
    effect = 2.0 * float(test.statistic) / (after.size * before.size) - 1.0
    base_median, median = float(np.median(before)), float(np.median(after))
    slowdown = median / base_median - 1.0 if base_median > 0 else 0.0
    p_value = float(test.pvalue)
    return LatencyDiff(
        operation=operation,
        baseline_n=int(before.size),
        current_n=int(after.size),
        baseline_median_ms=round(base_median, 3),
        current_median_ms=round(median, 3),
        slowdown=round(slowdown, 4),
        p_value=p_value,
        effect_size=round(effect, 4),
        regression=p_value < alpha and slowdown >= min_slowdown,
    )


def relative_change(before: float, after: float) -> float | None:
    return None if before == 0 else round(after / before - 1.0, 4)
