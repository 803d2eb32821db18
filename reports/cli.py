"""`estore report`: run (or collect) every part, judge the policy, write the four outputs.

Exit status: 0 go, 1 no-go, 2 no decision (a required part did not run, or bad input: a
policy that cannot be used, a baseline that cannot be read).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from reports import browser, html, parts
from reports.baseline import BaselineError, load_baseline
from reports.decision import NO_DECISION, decide
from reports.gather import REPRO_DIR, Evidence, commit, gather
from reports.policy import CapacityHeadroom, Policy, PolicyError, load_policy
from reports.report import assemble, history, write_outputs
from reports.rules import judge

DEFAULT_OUT = Path("reports/release")
VERDICT_STYLE = {"go": "green", "no-go": "red", "no decision": "yellow"}
RULE_STYLE = {"pass": "green", "fail": "red", "not run": "yellow", "no baseline": "cyan"}


@click.command()
@click.option(
    "--profile",
    type=click.Choice(["quick", "release"]),
    default="quick",
    show_default=True,
    help="quick: CI-sized (<= 5 min); release: <= 20 min.",
)
@click.option(
    "--baseline",
    default=None,
    help="An earlier report.json (or its folder), or a git tag storing reports/baseline.json.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Each report goes to OUT/<timestamp>/.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The chaos campaign's seed.")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The rules [default: reports/policy.toml].",
)
@click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Judge the artifacts already in this folder (one subfolder per part) "
    "instead of running the parts.",
)
def report(
    profile: parts.Profile,
    baseline: str | None,
    out: Path,
    seed: int,
    policy_path: Path | None,
    artifacts: Path | None,
) -> None:
    """Run every part of the testbed and decide: go, no-go or no decision."""
    try:
        policy = load_policy(policy_path) if policy_path else load_policy()
        base = load_baseline(baseline) if baseline else None
    except (PolicyError, BaselineError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(NO_DECISION)
    now = datetime.now(UTC)
    report_dir = _report_dir(out, now)
    built = make_report(profile, seed, policy, base, report_dir, artifacts, now, out)
    _summary(built, report_dir)
    sys.exit(built["decision"]["exit_code"])


def _report_dir(out: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    target, n = out / stamp, 1
    while target.exists():
        n += 1
        target = out / f"{stamp}-{n}"
    return target


def make_report(
    profile: parts.Profile,
    seed: int,
    policy: Policy,
    base: tuple[dict[str, Any], str] | None,
    report_dir: Path,
    artifacts: Path | None,
    now: datetime,
    out: Path,
    screenshot: bool = True,
) -> dict[str, Any]:
    parts_dir = artifacts or report_dir / "parts"
    steps = parts.steps(profile, seed, parts_dir)
    past = history(out)
    runs = None if artifacts else _run_all(steps, parts_dir)
    reproduce = {step.id: step.command for step in parts.steps(profile, seed, REPRO_DIR)}
    ev = Evidence(report_dir=report_dir, parts_dir=parts_dir, seed=seed, commit=commit(),
                  commands=reproduce)  # fmt: skip
    if base is not None:
        ev.baseline, ev.baseline_label = base
    gather(ev, steps, runs)
    results = judge(policy.enabled(), ev)
    decision = decide(results, policy.optional)
    built = assemble(
        profile=profile, generated_at=now, ev=ev, steps=steps, runs=runs, results=results,
        decision=decision, optional=policy.optional, past=past,
    )  # fmt: skip
    write_outputs(built, report_dir, html.render(built, ev, _min_headroom(policy)))
    if screenshot:
        _screenshot(report_dir)
    return built


def _screenshot(report_dir: Path) -> None:
    """report.png beside the page, and a warning for anything the page logged."""
    if browser.chromium() is None:
        click.echo("no screenshot: chromium is not installed", err=True)
        return
    try:
        console = browser.screenshot(report_dir / "report.html", report_dir / "report.png")
    except (OSError, subprocess.SubprocessError) as exc:
        click.echo(f"no screenshot: {exc}", err=True)
        return
    for line in console:
        click.secho(f"report.html logged: {line}", fg="yellow", err=True)


def _min_headroom(policy: Policy) -> float | None:
    rule = policy.rules.capacity_headroom
    return rule.min_headroom if isinstance(rule, CapacityHeadroom) else None


def _run_all(steps: list[parts.Step], parts_dir: Path) -> dict[str, parts.StepRun]:
    runs = {}
    for n, step in enumerate(steps, 1):
        click.echo(f"[{n}/{len(steps)}] {step.id}: {step.command}", err=True)
        run = parts.run_step(step, parts_dir)
        if run.status == "not run":
            click.secho(f"    not run: {run.reason}", fg="yellow", err=True)
        else:
            click.echo(f"    exit {run.exit_code} after {run.seconds:g} s", err=True)
        runs[step.id] = run
    return runs


def _rule_line(rule: dict[str, Any]) -> str:
    mark = click.style(f"{rule['verdict']:<11}", fg=RULE_STYLE[rule["verdict"]])
    return f"  {mark} {rule['rule']:<28} {rule['measured']}"


def _summary(built: dict[str, Any], report_dir: Path) -> None:
    click.echo("rules:")
    for rule in built["rules"]:
        click.echo(_rule_line(rule))
        for command in rule["reproduce"][:3]:
            click.echo(f"              reproduce: {command}")
    decision = built["decision"]
    click.secho(f"verdict: {decision['verdict'].upper()}: {decision['headline']}",
                fg=VERDICT_STYLE[decision["verdict"]], bold=True)  # fmt: skip
    for reason in decision["reasons"]:
        click.echo(f"  {reason}")
    click.echo(f"report: {report_dir / 'report.html'} (also report.json, junit.xml, summary.md)")
