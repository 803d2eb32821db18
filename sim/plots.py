"""PNG plots of the twin's answers (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def latency_vs_load(
    curves: Mapping[str, Sequence[Sequence[float]]],
    gate_ms: float,
    path: Path,
    measured: Sequence[tuple[float, float]] = (),
) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, points in curves.items():
        rates = [p[0] for p in points]
        p95 = [p[1] for p in points]
        axes.plot(rates, p95, marker="o", label=f"predicted: {name}")
    if measured:
        axes.plot(*zip(*measured, strict=True), "ks", label="measured (Locust)")
    axes.axhline(gate_ms, color="red", linestyle="--", label=f"gate {gate_ms:.0f} ms")
    axes.set(xlabel="arrival rate (req/s)", ylabel="p95 latency (ms)", yscale="log")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def utilisation_bars(utilisation: Mapping[str, float], path: Path, title: str) -> Path:
    figure, axes = plt.subplots(figsize=(7, 3.5))
    names = sorted(utilisation, key=lambda s: -utilisation[s])
    axes.bar(names, [utilisation[n] for n in names])
    axes.set(ylabel="CPU utilisation", title=title, ylim=(0, 1))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
