"""Assemble report.json and write the four outputs next to it."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from reports.baseline import REPORT_KIND
from reports.decision import Decision
from reports.gather import Evidence
from reports.parts import Step, StepRun
from reports.rules import RuleResult

VERSION = 1
HISTORY = 10
SCHEMA = Path(__file__).with_name("report.schema.json")
# Fields that differ between two runs of the same seed on the same commit.
VOLATILE = frozenset({"generated_at", "seconds", "history"})


def _parts(
    steps: list[Step], runs: dict[str, StepRun] | None, ev: Evidence, optional: list[str]
) -> list[dict[str, Any]]:
    parts: dict[str, dict[str, Any]] = {}
    for step in steps:
        part = parts.setdefault(
            step.part, {"name": step.part, "optional": step.part in optional, "steps": []}
        )
        run = runs.get(step.id) if runs is not None else None
        reason = ev.reasons.get(step.id, "")
        # Paths relative to the report, so the same run on the same commit reads the same.
        command = step.command.replace(
            str(ev.parts_dir), os.path.relpath(ev.parts_dir, ev.report_dir)
        )
        part["steps"].append(
            {
                "id": step.id,
                "command": command,
                "status": "not run" if reason else ("ran" if run else "collected"),
                "reason": reason,
                "exit_code": run.exit_code if run else None,
                "seconds": run.seconds if run else 0.0,
            }
        )
    for part in parts.values():
        statuses = {s["status"] for s in part["steps"]}
        part["status"] = "not run" if statuses == {"not run"} else (
            "partly run" if "not run" in statuses else statuses.pop()
        )  # fmt: skip
    return list(parts.values())


def history(out: Path, limit: int = HISTORY) -> list[dict[str, Any]]:
    """The last `limit` reports under `out`: verdict and key figures, oldest first."""
    entries = []
    for path in sorted(out.glob("*/report.json"))[-limit:]:
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        entries.append(
            {
                "generated_at": old.get("generated_at"),
                "commit": old.get("commit"),
                "verdict": old.get("decision", {}).get("verdict"),
                "figures": key_figures(old.get("metrics", {})),
            }
        )
    return entries


def key_figures(metrics: dict[str, Any]) -> dict[str, float | None]:
    load = metrics.get("load", {})
    p95s = [op["p95_ms"] for op in load.get("operations", {}).values()]
    return {
        "throughput_rps": load.get("throughput_rps"),
        "worst_p95_ms": max(p95s) if p95s else None,
        "failure_ratio": load.get("failure_ratio"),
        "headroom": metrics.get("capacity", {}).get("headroom"),
    }


def assemble(
    *,
    profile: str,
    generated_at: datetime,
    ev: Evidence,
    steps: list[Step],
    runs: dict[str, StepRun] | None,
    results: list[RuleResult],
    decision: Decision,
    optional: list[str],
    past: list[dict[str, Any]],
) -> dict[str, Any]:
    baseline = None
    if ev.baseline is not None:
        baseline = {
            "label": ev.baseline_label,
            "commit": ev.baseline.get("commit"),
            "generated_at": ev.baseline.get("generated_at"),
        }
    return {
        "kind": REPORT_KIND,
        "version": VERSION,
        "generated_at": generated_at.isoformat(),
        "profile": profile,
        "seed": ev.seed,
        "commit": ev.commit,
        "decision": decision.to_dict(),
        "parts": _parts(steps, runs, ev, optional),
        "rules": [r.to_dict() for r in results],
        "metrics": ev.metrics,
        "diffs": ev.diffs,
        "baseline": baseline,
        "history": past,
    }


def junit(report: dict[str, Any]) -> str:
    """One test case per rule: a failed rule fails, a rule that could not be judged is skipped."""
    rules = report["rules"]
    suite = ET.Element(
        "testsuite",
        name="estore report",
        tests=str(len(rules)),
        failures=str(sum(r["verdict"] == "fail" for r in rules)),
        skipped=str(sum(r["verdict"] in ("not run", "no baseline") for r in rules)),
    )
    for rule in rules:
        case = ET.SubElement(
            suite, "testcase", classname=f"report.{rule['part']}", name=rule["rule"]
        )
        detail = "\n".join([*rule["evidence"], *(f"reproduce: {c}" for c in rule["reproduce"])])
        if rule["verdict"] == "fail":
            failure = ET.SubElement(case, "failure", message=rule["measured"])
            failure.text = detail
        elif rule["verdict"] != "pass":
            ET.SubElement(case, "skipped", message=f"{rule['verdict']}: {rule['measured']}")
        ET.SubElement(case, "system-out").text = f"threshold: {rule['threshold']}\n{detail}"
    return ET.tostring(suite, encoding="unicode") + "\n"


MARK = {"pass": "✅", "fail": "❌", "not run": "⚪", "no baseline": "🔹"}


def summary_md(report: dict[str, Any]) -> str:
    decision = report["decision"]
    lines = [
        f"## Resilience report: **{decision['verdict'].upper()}**",
        "",
        decision["headline"],
        "",
        f"Commit `{report['commit']}`, profile {report['profile']}, seed {report['seed']}"
        + (f", baseline {report['baseline']['label']}" if report["baseline"] else ""),
        "",
        "| rule | verdict | measured | threshold |",
        "|---|---|---|---|",
    ]
    for rule in report["rules"]:
        lines.append(
            f"| {rule['rule']} | {MARK[rule['verdict']]} {rule['verdict']} | "
            f"{rule['measured']} | {rule['threshold']} |"
        )
    failing = [r for r in report["rules"] if r["reproduce"]]
    if failing:
        lines += ["", "Reproduce:", ""]
        lines += [f"- `{c}`" for r in failing for c in r["reproduce"]]
    return "\n".join(lines) + "\n"


def write_outputs(report: dict[str, Any], report_dir: Path, html: str) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (report_dir / "junit.xml").write_text(junit(report))
    (report_dir / "summary.md").write_text(summary_md(report))
    (report_dir / "report.html").write_text(html)
