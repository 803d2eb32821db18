"""Locust event hooks: the scenario's user mix, seeded task choice, and the SLA gates that
set the exit code, written next to Locust's own CSV/HTML/JSON results."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests import config
from loadtests.gates import OperationStats, Verdict, evaluate

log = logging.getLogger("loadtests")
# Which services each kind of visitor needs behind the gateway (the ticket service is called
# directly); a visitor whose services are not served stays home.
NEEDS = {
    "browser": {"gateway", "product", "category"},
    "shopper": {"gateway", "auth", "product", "order", "coupon", "payment"},
    "support": {"gateway", "auth", "order", "ticket"},
    "admin": {"gateway", "auth", "product", "coupon"},
}


def operation_stats(environment: Environment) -> list[OperationStats]:
    return [
        OperationStats(
            name=entry.name,
            method=entry.method or "",
            requests=entry.num_requests,
            failures=entry.num_failures,
            p95_ms=entry.get_response_time_percentile(0.95) or 0.0,
        )
        for entry in environment.stats.entries.values()
    ]


def apply_mix(environment: Environment) -> None:
    cfg = config.current()
    served = set(cfg.fixtures["services"])
    weights: dict[str, int] = {str(role): n for role, n in cfg.scenario.mix.items()}
    kept = []
    for user_class in environment.user_classes:
        role = getattr(user_class, "role", "")
        user_class.weight = weights.get(role, 0)
        if user_class.weight and NEEDS.get(role, set()) <= served:
            kept.append(user_class)
    if not kept:
        raise RuntimeError(f"no visitor can run: the cluster serves only {sorted(served)}")
    environment.user_classes[:] = kept


def on_init(environment: Environment, **_: Any) -> None:
    random.seed(config.current().scenario.seed)
    apply_mix(environment)


def on_quitting(environment: Environment, **_: Any) -> None:
    """Judge the run on the master (or a standalone runner): a breach fails the process."""
    if isinstance(environment.runner, WorkerRunner):
        return
    verdict = evaluate(config.current().scenario.gates, operation_stats(environment))
    for breach in verdict.breaches:
        log.error("SLA gate breached: %s", breach)
    code = environment.parsed_options.exit_code_on_error if environment.parsed_options else 1
    environment.process_exit_code = 0 if verdict.passed else code
    write_verdict(verdict)


def write_verdict(verdict: Verdict) -> None:
    report_dir = config.current().report_dir
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "gates.json").write_text(json.dumps(verdict.as_dict(), indent=2))


def register() -> None:
    events.init.add_listener(on_init)
    events.quitting.add_listener(on_quitting)
