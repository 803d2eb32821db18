"""Locust event hooks: the run's options, staging through the API (or reading it back on a
worker), the scenario's user mix, progress lines, the SLA gates that set the exit code, and
the invariants read through the API at the end."""

from __future__ import annotations

import json
import logging
import random
import sys
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests import config, outside
from loadtests.api import Api, ApiError
from loadtests.gates import OperationStats, Verdict, evaluate
from loadtests.scenario import SCENARIOS, Scenario, load_scenario
from loadtests.stage import read_back, stage

log = logging.getLogger("loadtests")
PROGRESS_S = 10.0
BAD_INPUT = 2
# Which services each kind of visitor needs behind the gateway (the ticket service is called
# directly); a visitor whose services are not served stays home.
NEEDS = {
    "browser": {"gateway", "product", "category"},
    "shopper": {"gateway", "auth", "product", "order", "coupon", "payment"},
    "support": {"gateway", "auth", "order", "ticket"},
    "admin": {"gateway", "auth", "product", "coupon"},
}
_baseline: list[outside.Baseline] = []


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
        raise ApiError(f"no visitor can run: the cluster serves only {sorted(served)}")
    environment.user_classes[:] = kept


def _refuse(message: str) -> None:
    """Bad input stops the process at start-up with one line (SystemExit passes Locust's
    event hook, which logs other exceptions with a traceback and carries on)."""
    sys.stderr.write(f"load: {message}\n")
    raise SystemExit(BAD_INPUT)


def _scenario(options: Any) -> Scenario:
    try:
        return load_scenario(options.scenario).scaled(
            time=options.time_scale, users=options.user_scale
        )
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.toml")))
        raise ApiError(
            f"unknown scenario {options.scenario!r}: name one of {known}, or a TOML file's path"
        ) from None
    except ValueError as exc:
        first = str(exc).splitlines()
        raise ApiError(
            f"scenario {options.scenario!r} is not valid: {' '.join(first[:3])}"
        ) from None


def _admin(options: Any) -> dict[str, str]:
    return {"email": options.admin_email, "password": options.admin_password}


def _report_dir(options: Any) -> Path | None:
    return Path(options.report_dir) if options.report_dir else None


def on_init(environment: Environment, **_: Any) -> None:
    """The master (or a standalone runner) stages the sale at start-up, before the web UI or
    the headless run starts any user, so bad input stops the process before the load."""
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return
    try:
        _stage_sale(environment, options)
    except ApiError as exc:
        _refuse(str(exc))


def _stage_sale(environment: Environment, options: Any) -> None:
    scenario = _scenario(options)
    if not environment.host:
        raise ApiError("no --host: pass the gateway's URL, e.g. --host http://127.0.0.1:3000")
    api = Api(environment.host)
    fixtures = stage(api, scenario, _admin(options), options.ticket_url or None)
    config.use(config.LoadConfig(scenario, fixtures, _report_dir(options)))
    apply_mix(environment)
    _baseline[:] = [outside.baseline(api, fixtures)]
    random.seed(scenario.seed)
    log.warning(
        "load: staged %s at %s: %d shoppers, sale items %s",
        scenario.name,
        api.host,
        scenario.shopper_accounts,
        fixtures["sale_product_ids"],
    )


def on_test_start(environment: Environment, **_: Any) -> None:
    """A worker reads back what the master staged (the master's options reach it with the
    first spawn message); the master or a standalone runner starts the progress lines."""
    options = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) and options is not None:
        try:
            scenario = _scenario(options)
            fixtures = read_back(
                Api(environment.host or ""), scenario, _admin(options), options.ticket_url or None
            )
        except ApiError as exc:
            log.error("load: %s", exc)
            environment.runner.quit()
            return
        config.use(config.LoadConfig(scenario, fixtures, None))
        random.seed(scenario.seed)
    elif options is not None and options.headless:
        gevent.spawn(_progress, environment)


def _phase(scenario: Scenario, t: float) -> str:
    start = 0.0
    for phase in scenario.phases:
        start += phase.duration_s
        if t < start:
            return phase.name
    return "end"


def _progress(environment: Environment) -> None:
    """One line every PROGRESS_S: phase, users, request rate and failures so far."""
    runner = environment.runner
    started = gevent.get_hub().loop.now()
    while runner is not None and runner.state not in ("stopped", "quitting"):
        gevent.sleep(PROGRESS_S)
        total = environment.stats.total
        t = gevent.get_hub().loop.now() - started
        print(
            f"load: {t:5.0f} s  phase {_phase(config.current().scenario, t):9} "
            f"users {runner.user_count:4}  {total.current_rps:6.1f} req/s  "
            f"requests {total.num_requests}  failures {total.num_failures}",
            flush=True,
        )


def on_quitting(environment: Environment, **_: Any) -> None:
    """Judge the run on the master (or a standalone runner): a breach or a broken invariant
    fails the process; the verdict and the invariants are printed and written."""
    if isinstance(environment.runner, WorkerRunner) or not _baseline:
        return
    cfg = config.current()
    verdict = evaluate(cfg.scenario.gates, operation_stats(environment))
    code = environment.parsed_options.exit_code_on_error if environment.parsed_options else 1
    try:
        report = outside.check(
            _signed_in(environment.host or "", cfg.fixtures), cfg.fixtures, _baseline[0]
        )
    except ApiError as exc:
        print(f"load: the invariants could not be read: {exc}", flush=True)
        environment.process_exit_code = code
        return
    _print_verdict(verdict, report.model_dump())
    environment.process_exit_code = 0 if verdict.passed and report.passed else code
    if cfg.report_dir is not None:
        cfg.report_dir.mkdir(parents=True, exist_ok=True)
        (cfg.report_dir / "gates.json").write_text(json.dumps(verdict.as_dict(), indent=2))
        (cfg.report_dir / "invariants.json").write_text(report.model_dump_json(indent=2))


def _signed_in(host: str, fixtures: dict[str, Any]) -> Api:
    """A fresh admin session: the staging one's token may have expired during a long run."""
    api = Api(host)
    api.sign_in(fixtures["admin"]["email"], fixtures["admin"]["password"])
    return api


def _print_verdict(verdict: Verdict, report: dict[str, Any]) -> None:
    state = "passed" if verdict.passed else "FAILED: " + "; ".join(map(str, verdict.breaches))
    print(f"load: gates {state} ({verdict.requests} requests, {verdict.failures} failures)")
    for check in report["checks"]:
        ok = "ok" if check["passed"] else "FAILED: " + "; ".join(check["violations"][:3])
        print(f"load: invariant {check['name']} ({report['checked_through']}): {ok}")
    for name in report["not_checked"]:
        print(f"load: invariant {name}: not checked from outside")
    print(f"load: totals {json.dumps(report['totals'])}", flush=True)


def register() -> None:
    events.init_command_line_parser.add_listener(config.add_options)
    events.init.add_listener(on_init)
    events.test_start.add_listener(on_test_start)
    events.quitting.add_listener(on_quitting)
