"""Gather the evidence: every step's artifacts read into one `Evidence`, with the reason for
each step that gave none."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports import compare, evidence
from reports.parts import ROOT, Step, StepRun, log_path, log_tail

REPRO_DIR = Path("reports/repro")


@dataclass
class Evidence:
    report_dir: Path
    parts_dir: Path
    seed: int
    commit: str
    commands: dict[str, str]
    reasons: dict[str, str] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    baseline_label: str = ""
    contract_cases: list[evidence.TestCase] | None = None
    schema: evidence.SchemaCheck | None = None
    campaign: dict[str, Any] | None = None
    mutants: evidence.MutantCheck | None = None
    experiments: list[dict[str, Any]] | None = None
    load: evidence.LoadRun | None = None
    validation: dict[str, Any] | None = None
    capacity: dict[str, Any] | None = None
    benchmarks: dict[str, float] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    diffs: dict[str, Any] = field(default_factory=dict)

    def link_path(self, path: Path) -> str | None:
        return os.path.relpath(path, self.report_dir) if path.exists() else None

    def link(self, part: str, relative: str) -> str | None:
        return self.link_path(self.parts_dir / part / relative)

    def command(self, step: str) -> str:
        return self.commands[step]

    def at_commit(self, command: str) -> str:
        return f"{command}  # at commit {self.commit}"


def commit() -> str:
    """HEAD's short hash, marked `-dirty` when the worktree has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


# Each step's evidence: the attribute it fills, its reader and the artifact it reads.
READERS: dict[str, tuple[str, Callable[[Path], Any], str]] = {
    "contracts/pytest": ("contract_cases", evidence.contract_cases, "contracts/junit.xml"),
    "schema/snapshot": ("schema", evidence.schema_check, "schema/snapshot.log"),
    "chaos/campaign": ("campaign", evidence.campaign, "chaos/campaign/summary.json"),
    "chaos/mutants": ("mutants", evidence.mutants, "chaos/mutants.log"),
    "chaos/experiments": (
        "experiments",
        evidence.experiments,
        "chaos/experiments/experiments.json",
    ),
    "load/locust": ("load", evidence.load_run, "load"),
    "sim/validate": ("validation", evidence.sim_artifact, "sim/validate/validation.json"),
    "sim/capacity": ("capacity", evidence.sim_artifact, "sim/capacity/capacity.json"),
    "benchmarks/collect": ("benchmarks", evidence.benchmark_figures, "benchmarks/benchmarks.md"),
}


def _failed_to_run(run: StepRun, step: Step, parts_dir: Path) -> str | None:
    if run.status == "not run":
        return run.reason
    if run.exit_code not in step.verdict_codes:
        tail = log_tail(log_path(parts_dir, run.part, run.name))
        return f"exit code {run.exit_code}: {tail}"
    return None


def gather(ev: Evidence, steps: list[Step], runs: dict[str, StepRun] | None) -> Evidence:
    """Read each step's artifacts; `runs` None means collect what is there (nothing was run)."""
    for step in steps:
        attribute, read, artifact = READERS[step.id]
        run = runs.get(step.id) if runs is not None else None
        reason = _failed_to_run(run, step, ev.parts_dir) if run else None
        if reason is None:
            try:
                setattr(ev, attribute, read(ev.parts_dir / artifact))
            except (evidence.ArtifactError, OSError, KeyError, TypeError) as exc:
                reason = f"unreadable artifact: {exc}"
        if reason is None and getattr(ev, attribute) is None:
            where = log_tail(log_path(ev.parts_dir, step.part, step.name)) if run else ""
            reason = "ran but wrote no artifact" + (f": {where}" if where else "")
            if run is None:
                reason = f"no artifact in {os.path.relpath(ev.parts_dir / artifact, ev.report_dir)}"
        if reason:
            ev.reasons[step.id] = reason
    ev.metrics = _metrics(ev)
    return ev


def _metrics(ev: Evidence) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    if ev.load is not None:
        metrics["load"] = load_figures(ev.load)
    if ev.capacity is not None:
        metrics["capacity"] = {
            key: ev.capacity.get(key) for key in ("peak_rps_needed", "max_rps_served", "headroom")
        }
    if ev.benchmarks is not None:
        metrics["benchmarks"] = ev.benchmarks
    if ev.campaign is not None:
        metrics["chaos"] = {
            "schedules": ev.campaign.get("schedules"),
            "failed_schedules": len(ev.campaign.get("failures", [])),
            "history_hash": ev.campaign.get("history_hash"),
            "coverage": ev.campaign.get("coverage", {}),
        }
    return metrics


def load_figures(run: evidence.LoadRun) -> dict[str, Any]:
    """What a later report compares with: per-operation histograms, throughput, errors."""
    operations = {}
    starts, ends, requests, failures = [], [], 0, 0
    for entry in run.operations:
        if entry.get("method") == "SAGA" or not entry.get("num_requests"):
            continue
        key = f"{entry.get('method', '')} {entry['name']}".strip()
        histogram = {
            str(k): int(v)
            for k, v in sorted(entry.get("response_times", {}).items(), key=lambda kv: float(kv[0]))
        }
        operations[key] = {
            "requests": int(entry["num_requests"]),
            "failures": int(entry.get("num_failures", 0)),
            "median_ms": round(compare.percentile(histogram, 50), 3),
            "p95_ms": round(compare.percentile(histogram, 95), 3),
            "histogram": histogram,
        }
        requests += int(entry["num_requests"])
        failures += int(entry.get("num_failures", 0))
        starts.append(float(entry.get("start_time", 0)))
        ends.append(float(entry.get("last_request_timestamp") or entry.get("start_time", 0)))
    span = max(ends) - min(starts) if starts else 0.0
    return {
        "operations": operations,
        "requests": requests,
        "throughput_rps": round(requests / span, 3) if span > 0 else 0.0,
        "failure_ratio": round(failures / requests, 6) if requests else 0.0,
    }  # fmt: skip
