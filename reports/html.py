"""report.html: one self-contained page (inline CSS and SVG), the verdict first."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from reports import plots
from reports.gather import Evidence
from reports.parts import ROOT, SCENARIO
from reports.report import key_figures

WORDS = {"go": "GO — ship it.", "no-go": "NO-GO — do not ship.", "no decision": "NO DECISION."}
SCENARIOS = ROOT / "loadtests" / "scenarios"


@dataclass
class Section:
    id: str
    title: str
    lines: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    def plot(self, svg: str | None) -> None:
        if svg:
            self.plots.append(svg)


def p95_gate_ms() -> float | None:
    """The scenario's default p95 gate, drawn on the latency plot."""
    path = SCENARIOS / f"{SCENARIO}.toml"
    if not path.exists():
        return None
    gate = tomllib.loads(path.read_text()).get("gates", {}).get("p95_ms", {}).get("*")
    return float(gate) if gate is not None else None


def _contracts(ev: Evidence) -> Section:
    section = Section("contracts", "Contracts: pacts, deploy matrix, fuzzing, schema")
    if ev.contract_cases is not None:
        section.rows.append(["group", "passed", "failed"])
        for group in ("pacts", "deploy_matrix", "fuzzing", "schema"):
            cases = [c for c in ev.contract_cases if c.group == group]
            section.rows.append(
                [group, sum(c.passed for c in cases), sum(not c.passed for c in cases)]
            )
    if ev.schema is not None:
        section.lines.append(
            f"GraphQL schema against its snapshot: {len(ev.schema.breaking)} breaking, "
            f"{len(ev.schema.dangerous)} dangerous change(s)."
        )
    return section


def _chaos(ev: Evidence) -> Section:
    section = Section("chaos", "Chaos: campaign, mutants, experiments")
    if ev.campaign is not None:
        section.lines.append(
            f"{ev.campaign.get('schedules')} seeded schedules, "
            f"{len(ev.campaign.get('failures', []))} failing; history hash "
            f"{str(ev.campaign.get('history_hash'))[:16]}."
        )
        section.plot(plots.coverage_matrix(ev.campaign.get("coverage", {})))
    if ev.mutants is not None:
        section.rows.append(["mutant", "result"])
        section.rows += [[m, f"caught {how}"] for m, how in sorted(ev.mutants.caught.items())]
        section.rows += [[m, f"UNCAUGHT {how}"] for m, how in sorted(ev.mutants.uncaught.items())]
    if ev.experiments is not None:
        section.lines += [f"{e.get('verdict')}: {e.get('title')}" for e in ev.experiments]
        section.plot(plots.breaker_states(ev.experiments))
    return section


def _load(ev: Evidence) -> Section:
    section = Section("load", "Load: the sale day")
    if ev.load is not None:
        section.plot(plots.latency_over_time(ev.load.history, p95_gate_ms()))
        section.rows.append(["operation", "requests", "failures", "median ms", "p95 ms"])
        for name, op in sorted(ev.metrics.get("load", {}).get("operations", {}).items()):
            section.rows.append(
                [name, op["requests"], op["failures"], op["median_ms"], op["p95_ms"]]
            )
        figures = ev.metrics.get("load", {})
        section.lines.append(
            f"{figures.get('requests')} requests, {figures.get('throughput_rps')} rps, "
            f"failure ratio {figures.get('failure_ratio')}."
        )
    return section


def _sim(ev: Evidence, min_headroom: float | None) -> Section:
    section = Section("sim", "Simulation: validation and capacity forecast")
    if ev.validation is not None:
        section.lines.append(f"calibration: {ev.validation.get('calibration')}")
        section.plot(plots.predicted_vs_measured(ev.validation.get("levels", [])))
    if ev.capacity is not None:
        section.plot(plots.headroom(ev.capacity, min_headroom))
        section.lines.append(f"instances for the target: {ev.capacity.get('instances_for_target')}")
    return section


def _benchmarks(ev: Evidence) -> Section:
    section = Section("benchmarks", "Benchmarks (reports/benchmarks.md)")
    if ev.benchmarks is not None:
        section.lines.append(f"{len(ev.benchmarks)} figures collected.")
    changes = ev.diffs.get("benchmarks", [])
    if changes:
        section.rows.append(["figure", "change against the baseline"])
        section.rows += [[c["figure"], f"{c['change']:+.1%}"] for c in changes if c["change"]]
    return section


def _baseline(ev: Evidence, report: dict[str, Any]) -> Section:
    section = Section("baseline", "Against the baseline")
    if ev.baseline is None:
        section.lines.append("No baseline given (--baseline PATH_OR_TAG).")
        return section
    latency = ev.diffs.get("latency", [])
    section.plot(plots.baseline_diff(latency))
    if latency:
        section.rows.append(
            [
                "operation",
                "median before",
                "median now",
                "slowdown",
                "p (MWU)",
                "effect",
                "regression",
            ]
        )
        section.rows += [
            [d["operation"], d["baseline_median_ms"], d["current_median_ms"],
             f"{d['slowdown']:+.0%}", f"{d['p_value']:.3g}", f"{d['effect_size']:+.2f}",
             "yes" if d["regression"] else "no"]
            for d in latency
        ]  # fmt: skip
    return section


def _history(report: dict[str, Any]) -> Section:
    section = Section("history", "History: the last reports")
    entries = [*report["history"], _this(report)]
    section.plot(plots.trend(entries))
    section.rows.append(["generated", "commit", "verdict", "rps", "worst p95 ms", "headroom"])
    for e in entries:
        f = e["figures"]
        section.rows.append(
            [e["generated_at"], e["commit"], e["verdict"], f.get("throughput_rps"),
             f.get("worst_p95_ms"), f.get("headroom")]
        )  # fmt: skip
    return section


def _this(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "generated_at": report["generated_at"],
        "commit": report["commit"],
        "verdict": report["decision"]["verdict"],
        "figures": key_figures(report["metrics"]),
    }


def render(report: dict[str, Any], ev: Evidence, min_headroom: float | None) -> str:
    environment = Environment(
        loader=PackageLoader("reports", "templates"), autoescape=select_autoescape()
    )
    sections = [
        _contracts(ev), _chaos(ev), _load(ev), _sim(ev, min_headroom), _benchmarks(ev),
        _baseline(ev, report), _history(report),
    ]  # fmt: skip
    template = environment.get_template("report.html.j2")
    return template.render(r=report, words=WORDS, sections=sections)
