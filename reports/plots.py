"""The report's plots as inline SVG (matplotlib, no fonts or files fetched)."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
from matplotlib.figure import Figure

matplotlib.rcParams.update({"svg.hashsalt": "estore-report", "font.size": 9, "figure.dpi": 100})


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.tight_layout()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _number(value: str | None) -> float:
    """A CSV cell as a number; NaN (a gap in the line) when Locust wrote N/A."""
    try:
        return float(value or "nan")
    except ValueError:
        return float("nan")


def latency_over_time(history: list[dict[str, str]], gate_ms: float | None) -> str | None:
    """p50 and p95 of all requests over the run, the p95 gate, and the users on the side."""
    rows = [r for r in history if r.get("Name") == "Aggregated" and _number(r.get("95%")) > 0]
    if not rows:
        return None
    start = float(rows[0]["Timestamp"])
    seconds = [float(r["Timestamp"]) - start for r in rows]
    figure = Figure(figsize=(7, 3))
    axis = figure.subplots()
    axis.plot(seconds, [_number(r["95%"]) for r in rows], label="p95 ms")
    axis.plot(seconds, [_number(r["50%"]) for r in rows], label="p50 ms")
    if gate_ms is not None:
        axis.axhline(gate_ms, color="red", linestyle="--", label=f"p95 gate {gate_ms:g} ms")
    axis.set_xlabel("seconds into the sale day")
    axis.set_ylabel("latency ms")
    users = axis.twinx()
    users.plot(seconds, [_number(r.get("User Count")) for r in rows], color="grey", lw=0.8)
    users.set_ylabel("users", color="grey")
    axis.legend(loc="upper left")
    return _svg(figure)


def predicted_vs_measured(levels: list[dict[str, Any]]) -> str | None:
    if not levels:
        return None
    users = [lv["users"] for lv in levels]
    figure = Figure(figsize=(7, 3))
    axis = figure.subplots()
    for key, marker in (("p95_ms", "o"), ("p50_ms", "s")):
        axis.plot(
            users, [lv["measured"][key] for lv in levels], marker=marker, label=f"measured {key}"
        )
        axis.plot(users, [lv["predicted"][key] for lv in levels], marker=marker, alpha=0.6,
                  linestyle="--", label=f"predicted {key}")  # fmt: skip
    calibrated = [lv["users"] for lv in levels if lv.get("used_for_calibration")]
    for x in calibrated:
        axis.axvline(x, color="grey", lw=0.5)
    axis.set_xlabel("users (grey lines: used for calibration)")
    axis.set_ylabel("latency ms")
    axis.legend()
    return _svg(figure)


def coverage_matrix(coverage: dict[str, dict[str, int]]) -> str | None:
    if not coverage:
        return None
    links = sorted(coverage)
    kinds = sorted({kind for per in coverage.values() for kind in per})
    grid = [[coverage[link].get(kind, -1) for kind in kinds] for link in links]
    figure = Figure(figsize=(8, 0.4 * len(links) + 1.5))
    axis = figure.subplots()
    shown = [[max(cell, 0) for cell in row] for row in grid]
    axis.imshow(shown, cmap="Greens", aspect="auto")
    for y, row in enumerate(grid):
        for x, cell in enumerate(row):
            label = "" if cell < 0 else ("0!" if cell == 0 else str(cell))
            axis.text(x, y, label, ha="center", va="center", color="red" if cell == 0 else "k")
    axis.set_xticks(range(len(kinds)), kinds, rotation=30, ha="right")
    axis.set_yticks(range(len(links)), links)
    axis.set_title("injections per link x fault kind (0! = a fault kind never injected)")
    return _svg(figure)


def breaker_states(experiments: list[dict[str, Any]]) -> str | None:
    rows = [e for e in experiments if "breaker-state" in e.get("figures", {})]
    if not rows:
        return None
    states = ["closed", "half_open", "open"]
    figure = Figure(figsize=(7, 0.5 * len(rows) + 1.5))
    axis = figure.subplots()
    for y, e in enumerate(rows):
        figures = e["figures"]
        back = float(figures.get("seconds-to-steady") or 0)
        state = figures["breaker-state"]
        color = {"open": "tab:red", "half_open": "tab:orange"}.get(state, "tab:green")
        axis.barh(y, 1, left=0, color="tab:green")
        axis.barh(y, 1, left=1, color=color)
        axis.barh(y, max(back, 0.1) / 30, left=2, color="tab:blue")
        axis.text(1.5, y, state, ha="center", va="center", color="white")
        axis.text(2.05, y, f"steady again after {back:g} s", va="center")
    axis.set_yticks(range(len(rows)), [e["title"][:45] for e in rows])
    axis.set_xticks([0.5, 1.5, 2.5], ["before (steady state)", "fault on: breaker", "healed"])
    axis.set_xlim(0, 4)
    axis.set_title(f"breaker state during each experiment's fault ({', '.join(states)})")
    return _svg(figure)


def headroom(capacity: dict[str, Any], minimum: float | None) -> str | None:
    if not capacity:
        return None
    names = ["as forecast", *(w["name"] for w in capacity.get("what_ifs", []))]
    values = [capacity["headroom"], *(w["headroom"] for w in capacity.get("what_ifs", []))]
    figure = Figure(figsize=(7, 0.4 * len(names) + 1.5))
    axis = figure.subplots()
    colors = ["tab:red" if minimum is not None and v < minimum else "tab:green" for v in values]
    axis.barh(names, values, color=colors)
    if minimum is not None:
        axis.axvline(minimum, color="red", linestyle="--", label=f"policy minimum {minimum:.0%}")
        axis.legend()
    neck = capacity.get("bottleneck", {})
    axis.set_title(
        f"headroom (bottleneck: {neck.get('service')} at "
        f"{float(neck.get('utilisation', 0)):.0%} utilisation)"
    )
    axis.invert_yaxis()
    return _svg(figure)


def baseline_diff(latency: list[dict[str, Any]]) -> str | None:
    if not latency:
        return None
    names = [d["operation"] for d in latency]
    figure = Figure(figsize=(7, 0.35 * len(names) + 1.5))
    axis = figure.subplots()
    ys = range(len(names))
    axis.barh(
        [y - 0.2 for y in ys],
        [d["baseline_median_ms"] for d in latency],
        0.4,
        label="baseline median ms",
        color="grey",
    )
    axis.barh(
        [y + 0.2 for y in ys],
        [d["current_median_ms"] for d in latency],
        0.4,
        label="this run",
        color=["tab:red" if d["regression"] else "tab:blue" for d in latency],
    )
    axis.set_yticks(list(ys), names)
    axis.invert_yaxis()
    axis.legend()
    axis.set_title("median latency against the baseline (red: significant regression)")
    return _svg(figure)  # fmt: skip


def trend(entries: list[dict[str, Any]]) -> str | None:
    if len(entries) < 2:
        return None
    xs = range(len(entries))
    figure = Figure(figsize=(7, 2.5))
    axis = figure.subplots()
    rps = [e["figures"].get("throughput_rps") or 0 for e in entries]
    axis.plot(xs, rps, "o-", label="throughput rps")
    colors = {"go": "tab:green", "no-go": "tab:red"}
    for x, e in zip(xs, entries, strict=True):
        axis.annotate(
            e["verdict"],
            (x, rps[x]),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            color=colors.get(e["verdict"], "grey"),
        )
    axis.set_xticks(list(xs), [str(e["commit"])[:8] for e in entries], rotation=30)
    axis.set_title("the last reports: verdict and throughput")
    return _svg(figure)  # fmt: skip
