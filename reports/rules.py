"""The policy's rules, each judged on the parts' artifacts.

A rule's verdict is `pass`, `fail`, `not run` (its part gave no artifact; the reason says why)
or `no baseline` (a diff rule with nothing to compare with). Each carries what it measured, the
threshold, the evidence lines, the artifact it read and the commands that reproduce a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from reports import compare
from reports.evidence import TestCase
from reports.gather import Evidence
from reports.policy import (
    CapacityHeadroom,
    ChaosInvariantsHold,
    NoBenchmarkRegression,
    NoBreakingSchemaChange,
    NoLatencyRegression,
    NoThroughputRegression,
    Rule,
)

Verdict = Literal["pass", "fail", "not run", "no baseline"]


@dataclass
class RuleResult:
    rule: str
    part: str
    why: str
    verdict: Verdict
    threshold: str
    measured: str
    evidence: list[str] = field(default_factory=list)
    artifact: str | None = None
    reproduce: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Check = Callable[[str, Any, Evidence], RuleResult]
CHECKS: dict[str, tuple[str, Check]] = {}


def check(part: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[function.__name__] = (part, function)
        return function

    return register


def _result(name: str, rule: Rule, ev: Evidence, **fields: Any) -> RuleResult:
    part = CHECKS[name][0].split("/")[0]
    return RuleResult(rule=name, part=part, why=rule.why, **fields)


def _not_run(name: str, rule: Rule, ev: Evidence, threshold: str) -> RuleResult:
    reason = ev.reasons.get(CHECKS[name][0]) or "no artifact"
    return _result(name, rule, ev, verdict="not run", threshold=threshold, measured=reason)


def _contract_rule(group: str, name: str, rule: Rule, ev: Evidence) -> RuleResult:
    threshold = "every test passes"
    if ev.contract_cases is None:
        return _not_run(name, rule, ev, threshold)
    cases: list[TestCase] = [c for c in ev.contract_cases if c.group == group]
    failed = [c for c in cases if not c.passed]
    if not cases:
        return _result(
            name, rule, ev, verdict="fail", threshold=threshold, measured="no test ran",
            artifact=ev.link("contracts", "junit.xml"),
        )  # fmt: skip
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if failed else "pass",
        threshold=threshold,
        measured=f"{len(cases) - len(failed)}/{len(cases)} passed",
        evidence=[f"{c.node}: {c.message}" for c in failed],
        artifact=ev.link("contracts", "junit.xml"),
        reproduce=[f"pytest '{c.node}'" for c in failed],
    )


@check("contracts/pytest")
def pacts_verified(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    return _contract_rule("pacts", name, rule, ev)


@check("contracts/pytest")
def deploy_matrix_safe(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    return _contract_rule("deploy_matrix", name, rule, ev)


@check("contracts/pytest")
def fuzzing_clean(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    return _contract_rule("fuzzing", name, rule, ev)


@check("schema/snapshot")
def no_breaking_schema_change(name: str, rule: NoBreakingSchemaChange, ev: Evidence) -> RuleResult:
    threshold = f"no breaking change beyond {len(rule.allowed)} flagged exception(s)"
    if ev.schema is None:
        return _not_run(name, rule, ev, threshold)
    unflagged = [change for change in ev.schema.breaking if change not in rule.allowed]
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if unflagged else "pass",
        threshold=threshold,
        measured=f"{len(unflagged)} unflagged breaking, {len(ev.schema.dangerous)} dangerous",
        evidence=[f"breaking: {c}" for c in unflagged]
        + [f"dangerous: {c}" for c in ev.schema.dangerous],
        artifact=ev.link("schema", "snapshot.log"),
        reproduce=["python -m contracts.schema.snapshot"] if unflagged else [],
    )


@check("chaos/campaign")
def chaos_invariants_hold(name: str, rule: ChaosInvariantsHold, ev: Evidence) -> RuleResult:
    threshold = f"at most {rule.max_violations} failing schedule(s)"
    if ev.campaign is None:
        return _not_run(name, rule, ev, threshold)
    failures = ev.campaign.get("failures", [])
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if len(failures) > rule.max_violations else "pass",
        threshold=threshold,
        measured=f"{len(failures)} of {ev.campaign.get('schedules')} schedules failed"
        + (f" (mutant {ev.campaign['mutant']})" if ev.campaign.get("mutant") else ""),
        evidence=[f"seed {f['seed']}: {', '.join(f['invariants'])}" for f in failures],
        artifact=ev.link("chaos", "campaign/summary.json"),
        reproduce=[ev.at_commit(f["replay"]) for f in failures],
    )


@check("chaos/mutants")
def mutants_caught(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    threshold = "every mutant caught"
    if ev.mutants is None:
        return _not_run(name, rule, ev, threshold)
    total = len(ev.mutants.caught) + len(ev.mutants.uncaught)
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if ev.mutants.uncaught else "pass",
        threshold=threshold,
        measured=f"{len(ev.mutants.caught)}/{total} caught",
        evidence=[f"UNCAUGHT {m}: {what}" for m, what in ev.mutants.uncaught.items()],
        artifact=ev.link("chaos", "mutants.log"),
        reproduce=[
            ev.at_commit(f"estore chaos mutants --seed {ev.seed} --only {m}")
            for m in ev.mutants.uncaught
        ],
    )


@check("chaos/experiments")
def experiments_met_hypothesis(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    threshold = "every experiment passed"
    if ev.experiments is None:
        return _not_run(name, rule, ev, threshold)
    missed = [e for e in ev.experiments if e.get("verdict") != "passed"]
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if missed or not ev.experiments else "pass",
        threshold=threshold,
        measured=f"{len(ev.experiments) - len(missed)}/{len(ev.experiments)} passed",
        evidence=[
            f"{e.get('verdict')}: {e.get('title')}: {'; '.join(e.get('reasons', []))}"
            for e in missed
        ],
        artifact=ev.link("chaos", "experiments/experiments.json"),
        reproduce=[ev.at_commit("estore chaos experiment")] if missed else [],
    )


def _load_reproduce(ev: Evidence) -> list[str]:
    return [ev.at_commit(ev.command("load/locust"))]


@check("load/locust")
def load_gates_met(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    threshold = "every gate of the scenario met"
    if ev.load is None:
        return _not_run(name, rule, ev, threshold)
    gates = ev.load.gates
    breaches = [b.get("text", str(b)) for b in gates.get("breaches", [])]
    passed = bool(gates.get("passed")) and not breaches
    return _result(
        name,
        rule,
        ev,
        verdict="pass" if passed else "fail",
        threshold=threshold,
        measured=f"{len(breaches)} breach(es); {gates.get('requests')} requests, "
        f"failure ratio {gates.get('failure_ratio', 0):.4f}",
        evidence=breaches,
        artifact=ev.link_path(ev.load.folder / "gates.json"),
        reproduce=[] if passed else _load_reproduce(ev),
    )


@check("load/locust")
def load_invariants_hold(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    threshold = "every invariant holds"
    if ev.load is None or not ev.load.invariants:
        return _not_run(name, rule, ev, threshold)
    checks = ev.load.invariants.get("checks", [])
    broken = [c for c in checks if not c.get("passed")]
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if broken or not ev.load.invariants.get("passed") else "pass",
        threshold=threshold,
        measured=f"{len(checks) - len(broken)}/{len(checks)} hold",
        evidence=[f"{c['name']}: {v}" for c in broken for v in c.get("violations", [])[:5]],
        artifact=ev.link_path(ev.load.folder / "invariants.json"),
        reproduce=_load_reproduce(ev) if broken else [],
    )


@check("sim/validate")
def forecast_validated(name: str, rule: Rule, ev: Evidence) -> RuleResult:
    threshold = "predictions within the model's goal"
    if ev.validation is None:
        return _not_run(name, rule, ev, threshold)
    levels = ev.validation.get("levels", [])
    worst = max((abs(lv["error"].get("p95", 0)) for lv in levels), default=0.0)
    met = bool(ev.validation.get("met"))
    return _result(
        name,
        rule,
        ev,
        verdict="pass" if met else "fail",
        threshold=f"{threshold}: {ev.validation.get('goal')}",
        measured=f"{len(levels)} load level(s); worst p95 error {worst:.1%}",
        evidence=[f"{lv['users']} users: error {lv['error']}" for lv in levels if not met],
        artifact=ev.link("sim", "validate/validation.json"),
        reproduce=[] if met else [ev.at_commit(ev.command("sim/validate"))],
    )


@check("sim/capacity")
def capacity_headroom(name: str, rule: CapacityHeadroom, ev: Evidence) -> RuleResult:
    threshold = f"headroom >= {rule.min_headroom:.0%}"
    if ev.capacity is None:
        return _not_run(name, rule, ev, threshold)
    headroom = float(ev.capacity.get("headroom", 0.0))
    neck = ev.capacity.get("bottleneck", {})
    ok = headroom >= rule.min_headroom
    return _result(
        name,
        rule,
        ev,
        verdict="pass" if ok else "fail",
        threshold=threshold,
        measured=f"headroom {headroom:.0%} ({ev.capacity.get('max_rps_served')} rps served, "
        f"{ev.capacity.get('peak_rps_needed')} needed)",
        evidence=[
            f"bottleneck {neck.get('service')} at {float(neck.get('utilisation', 0)):.0%}",
            *(f"what if {w['name']}: headroom {w['headroom']}" for w in
              ev.capacity.get("what_ifs", [])),
        ],
        artifact=ev.link("sim", "capacity/capacity.json"),
        reproduce=[] if ok else [ev.at_commit(ev.command("sim/capacity"))],
    )  # fmt: skip


def _baseline_load(ev: Evidence) -> dict[str, Any] | None:
    if ev.baseline is None:
        return None
    load = ev.baseline.get("metrics", {}).get("load")
    return dict(load) if load else None


def _no_baseline(name: str, rule: Rule, ev: Evidence, threshold: str) -> RuleResult:
    why = "no baseline given" if ev.baseline is None else "the baseline has no such figures"
    return _result(name, rule, ev, verdict="no baseline", threshold=threshold, measured=why)


@check("load/locust")
def no_latency_regression(name: str, rule: NoLatencyRegression, ev: Evidence) -> RuleResult:
    threshold = (
        f"no operation with p < {rule.alpha:g} (Mann-Whitney U) and median "
        f"slowdown >= {rule.min_slowdown:.0%}"
    )
    if ev.load is None:
        return _not_run(name, rule, ev, threshold)
    before = _baseline_load(ev)
    if before is None:
        return _no_baseline(name, rule, ev, threshold)
    diffs = latency_diffs(ev.metrics["load"], before, rule)
    ev.diffs["latency"] = [d.to_dict() for d in diffs]
    slower = [d for d in diffs if d.regression]
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if slower else "pass",
        threshold=threshold,
        measured=f"{len(slower)} of {len(diffs)} operation(s) slower than {ev.baseline_label}",
        evidence=[
            f"{d.operation}: median {d.baseline_median_ms:g} -> {d.current_median_ms:g} ms "
            f"(+{d.slowdown:.0%}), p={d.p_value:.2g}, effect {d.effect_size:+.2f}"
            for d in slower
        ],
        artifact=ev.link_path(ev.load.folder / "stats.json"),
        reproduce=_load_reproduce(ev) if slower else [],
    )


def latency_diffs(
    current: dict[str, Any], before: dict[str, Any], rule: NoLatencyRegression
) -> list[compare.LatencyDiff]:
    diffs = []
    for op, figures in sorted(current.get("operations", {}).items()):
        old = before.get("operations", {}).get(op)
        if old is None:
            continue
        if min(figures["requests"], old["requests"]) < rule.min_samples:
            continue
        diffs.append(
            compare.latency_diff(
                op,
                old["histogram"],
                figures["histogram"],
                alpha=rule.alpha,
                min_slowdown=rule.min_slowdown,
            )
        )
    return diffs


@check("load/locust")
def no_throughput_regression(name: str, rule: NoThroughputRegression, ev: Evidence) -> RuleResult:
    threshold = (
        f"throughput drop <= {rule.max_throughput_drop:.0%}, failure ratio rise "
        f"<= {rule.max_failure_ratio_rise:.2%}"
    )
    if ev.load is None:
        return _not_run(name, rule, ev, threshold)
    before = _baseline_load(ev)
    if before is None:
        return _no_baseline(name, rule, ev, threshold)
    now = ev.metrics["load"]
    change = compare.relative_change(before["throughput_rps"], now["throughput_rps"]) or 0.0
    rise = now["failure_ratio"] - before["failure_ratio"]
    problems = []
    if -change > rule.max_throughput_drop:
        problems.append(
            f"throughput {before['throughput_rps']:g} -> {now['throughput_rps']:g} rps "
            f"({change:+.0%})"
        )
    if rise > rule.max_failure_ratio_rise:
        problems.append(
            f"failure ratio {before['failure_ratio']:.4f} -> {now['failure_ratio']:.4f}"
        )
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if problems else "pass",
        threshold=threshold,
        measured=f"throughput {change:+.1%}, failure ratio {rise:+.4f} against {ev.baseline_label}",
        evidence=problems,
        artifact=ev.link_path(ev.load.folder / "stats.json"),
        reproduce=_load_reproduce(ev) if problems else [],
    )


LOWER_IS_BETTER = ("µs", " ms", "ms ", " s", "load s", "seconds")


def _worse(key: str, change: float) -> float:
    """How much worse a figure got: a rise for times, a drop for rates."""
    column = key.rsplit("|", 1)[-1]
    return change if any(unit in column for unit in LOWER_IS_BETTER) else -change


@check("benchmarks/collect")
def no_benchmark_regression(name: str, rule: NoBenchmarkRegression, ev: Evidence) -> RuleResult:
    threshold = f"no figure worse by more than {rule.max_change:.0%}"
    if ev.benchmarks is None:
        return _not_run(name, rule, ev, threshold)
    before = (ev.baseline or {}).get("metrics", {}).get("benchmarks")
    if not before:
        return _no_baseline(name, rule, ev, threshold)
    changes = {
        key: change
        for key, value in ev.benchmarks.items()
        if key in before and (change := compare.relative_change(before[key], value)) is not None
    }
    ev.diffs["benchmarks"] = [{"figure": k, "change": v} for k, v in sorted(changes.items())]
    worse = {k: v for k, v in changes.items() if _worse(k, v) > rule.max_change}
    return _result(
        name,
        rule,
        ev,
        verdict="fail" if worse else "pass",
        threshold=threshold,
        measured=f"{len(worse)} of {len(changes)} figure(s) worse against {ev.baseline_label}",
        evidence=[f"{k}: {v:+.0%}" for k, v in sorted(worse.items())],
        artifact=ev.link("benchmarks", "benchmarks.md"),
    )


def judge(rules: dict[str, Rule], ev: Evidence) -> list[RuleResult]:
    return [CHECKS[name][1](name, rule, ev) for name, rule in rules.items()]
