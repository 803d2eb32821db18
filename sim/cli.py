"""`estore sim ...`: calibrate the twin from the real code, run a scenario, answer capacity
questions, validate against Locust.

Exit status: 0 done, 2 the run could not be made (bad input, a missing calibration).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from loadtests.scenario import Scenario, load_scenario
from sim.calibrate import CALIBRATIONS, CalibrationError, calibrate
from sim.sweep import Estimate, combine, executor, sweep
from sim.twin import config, load_calibration

COULD_NOT_RUN = 2
DEFAULT_CALIBRATION = "served"
T = TypeVar("T")


@click.group()
def sim() -> None:
    """The SimPy twin: calibrate, run a scenario, capacity, validation."""


def fail(message: str) -> None:
    click.echo(f"estore sim: {message}", err=True)
    sys.exit(COULD_NOT_RUN)


@contextmanager
def bad_input() -> Iterator[None]:
    """Bad input ends in one line that says what to do, never a traceback."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"scenario: {where}: {first['msg']} (fix the scenario file)")
    except (CalibrationError, ValueError, OSError) as exc:
        fail(str(exc))


def parse_instances(values: tuple[str, ...]) -> dict[str, int]:
    instances = {}
    for value in values:
        service, sep, count = value.partition("=")
        if not sep or not count.strip().lstrip("-").isdigit():
            raise ValueError(f"--instances {value!r}: write SERVICE=N, e.g. gateway=2")
        instances[service.strip()] = int(count)
    return instances


def progress_bar(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        click.echo(f"\r{label}: {done}/{total}", nl=done == total, err=True)

    return show


@sim.command("calibrate")
@click.option("--name", default=DEFAULT_CALIBRATION, show_default=True)
@click.option("--scenario", "scenario_name", default="sale_day", show_default=True)
@click.option("--repeats", type=click.IntRange(min=2), default=30, show_default=True)
@click.option(
    "--mode", type=click.Choice(["served", "in-process"]), default="served", show_default=True
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=CALIBRATIONS)
def calibrate_command(name: str, scenario_name: str, repeats: int, mode: str, out: Path) -> None:
    """Run every operation against the real code and write <out>/<name>.json."""
    from estore.kit.observability import configure_logging

    configure_logging("WARNING", json=True)
    with bad_input():
        scenario = load_scenario(scenario_name)
        click.echo(f"calibrating {name} on the {mode} cluster, {repeats} requests per operation")
        document = calibrate(
            scenario,
            name,
            served=mode == "served",
            repeats=repeats,
            progress=lambda line: click.echo(line, err=True),
        )
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    click.echo(f"sim: calibration in {path}")


def _row(name: str, values: dict[str, Estimate]) -> str:
    return (
        f"{name:<18} {values['throughput'].mean:>8.1f} {values['failure_ratio'].mean:>7.1%} "
        f"{values['p50_ms']!s:>18} {values['p95_ms']!s:>18}"
    )


def table(combined: dict[str, Any]) -> str:
    lines = [
        f"{'operation':<18} {'req/s':>8} {'failed':>7} {'p50 ms (95% CI)':>18} "
        f"{'p95 ms (95% CI)':>18}"
    ]
    lines += [_row(op, values) for op, values in combined["per_operation"].items()]
    lines.append(_row("all", combined))
    lines.append(
        "utilisation: "
        + ", ".join(f"{svc} {u.mean:.0%}" for svc, u in combined["utilisation"].items())
    )
    return "\n".join(lines)


def to_json(value: Any) -> Any:
    if isinstance(value, Estimate):
        return value.to_json()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def default_out(kind: str) -> Path:
    return Path("reports/sim") / f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


@dataclass(frozen=True)
class ScenarioOptions:
    """What `run` and `capacity` share: the scenario, its calibration, the deployment and where
    the seeds run."""

    scenario_name: str
    calibration: str
    time_scale: float
    user_scale: float
    instances: tuple[str, ...]
    cores: int | None
    scheduler: str | None
    jobs: int | None

    def scenario(self) -> Scenario:
        scenario = load_scenario(self.scenario_name)
        if self.time_scale != 1.0 or self.user_scale != 1.0:
            scenario = scenario.scaled(time=self.time_scale, users=self.user_scale)
        return scenario

    def deployed(self) -> dict[str, int]:
        return parse_instances(self.instances)


_SCENARIO_OPTIONS = (
    click.option("--scenario", "scenario_name", default="sale_day", show_default=True),
    click.option("--calibration", default=DEFAULT_CALIBRATION, show_default=True),
    click.option("--time-scale", type=float, default=1.0, show_default=True),
    click.option("--user-scale", type=float, default=1.0, show_default=True),
    click.option(
        "--instances",
        multiple=True,
        metavar="SERVICE=N",
        help="Deploy each service on its own loops (default: the served cluster, one loop).",
    ),
    click.option("--cores", type=click.IntRange(min=1), default=None),
    click.option("--scheduler", default=None, help="A Dask scheduler address for the sweep."),
    click.option("--jobs", type=click.IntRange(min=1), default=None, help="Local processes."),
)


def scenario_options(command: Callable[..., T]) -> Callable[..., T]:
    """The shared options, handed to `command` as one `options: ScenarioOptions`."""

    @functools.wraps(command)
    def with_options(**kwargs: Any) -> T:
        shared = {f.name: kwargs.pop(f.name) for f in fields(ScenarioOptions)}
        return command(options=ScenarioOptions(**shared), **kwargs)

    for option in reversed(_SCENARIO_OPTIONS):
        with_options = option(with_options)
    return with_options


@sim.command("run")
@scenario_options
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def run_command(options: ScenarioOptions, seeds: int, out: Path | None) -> None:
    """Simulate the scenario over many seeds; print per-operation results with 95% CIs."""
    with bad_input():
        scenario = options.scenario()
        calibrated = load_calibration(options.calibration)
        deployed = options.deployed()
        configs = [
            config(
                scenario,
                calibrated,
                seed=scenario.seed + i,
                instances=deployed,
                cores=options.cores,
            )
            for i in range(seeds)
        ]
    with executor(options.scheduler, options.jobs) as pool:
        summaries = sweep(configs, pool, progress_bar(f"{scenario.name} seeds"))
    combined = combine(summaries)
    click.echo(table(combined))
    out = out or default_out("run")
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "scenario": scenario.name,
        "calibration": options.calibration,
        **to_json(combined),
    }
    (out / "run.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    click.echo(f"sim: results in {out}")


@sim.command("capacity")
@scenario_options
@click.option(
    "--target-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="Size instances for this many times the scenario's peak.",
)
@click.option("--quick", is_flag=True, help="CI-sized: short runs, a coarse search.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def capacity_command(
    options: ScenarioOptions, target_scale: float, quick: bool, out: Path | None
) -> None:
    """The highest rate within the scenario's gates, the bottleneck, instances for a target
    peak and what-ifs; writes capacity.json and plots."""
    from sim.capacity import capacity
    from sim.plots import latency_vs_load, utilisation_bars

    with bad_input():
        scenario = options.scenario()
        calibrated = load_calibration(options.calibration)
        deployed = options.deployed()
        config(scenario, calibrated, seed=0, instances=deployed, cores=options.cores)
    horizon_s, steps = (20.0, 2) if quick else (120.0, 5)
    with executor(options.scheduler, options.jobs) as pool:
        answer = capacity(
            scenario,
            calibrated,
            pool,
            instances=deployed or None,
            cores=options.cores,
            target_scale=target_scale,
            horizon_s=horizon_s,
            steps=steps,
            progress=lambda line: click.echo(line, err=True),
        )
    answer["calibration"] = options.calibration
    out = out or default_out("capacity")
    out.mkdir(parents=True, exist_ok=True)
    (out / "capacity.json").write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    gate = scenario.gates.p95_ms.get("*", 2000.0)
    latency_vs_load(answer["curves"], gate, out / "latency_vs_load.png")
    utilisation_bars(
        answer["utilisation_at_max"],
        out / "utilisation.png",
        f"utilisation at {answer['max_rps_served']:.0f} req/s",
    )
    click.echo(capacity_table(answer))
    click.echo(f"sim: results in {out}")


def capacity_table(answer: dict[str, Any]) -> str:
    neck = answer["bottleneck"]
    lines = [
        f"{answer['scenario']}: peak {answer['peak_users']} users need "
        f"{answer['peak_rps_needed']:.1f} req/s",
        f"{'deployment':<34} {'max req/s':>10} {'headroom':>9}",
        f"{'as deployed':<34} {answer['max_rps_served']:>10.1f} {answer['headroom']:>9.0%}",
    ]
    lines += [
        f"{w['name']:<34} {w['max_rps_served']:>10.1f} {w['headroom']:>9.0%}"
        for w in answer["what_ifs"]
    ]
    lines.append(f"bottleneck: {neck['service']} at {neck['utilisation']:.0%}")
    lines.append(
        f"for {answer['target_scale']:g}x the peak ({answer['target_rps']:.0f} req/s): "
        + ", ".join(f"{s} {n}" for s, n in answer["instances_for_target"].items())
    )
    return "\n".join(lines)


FULL_LEVELS = (10, 40, 80, 150, 250)
QUICK_LEVELS = (5, 20)


@sim.command("validate")
@click.option("--calibration", default=DEFAULT_CALIBRATION, show_default=True)
@click.option(
    "--scenario",
    "scenario_name",
    default="sale_day",
    show_default=True,
    help="Its mix, sale and gates; each level replaces its phases with one.",
)
@click.option("--quick", is_flag=True, help="CI-sized: two short levels, fitted on the first.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--measured",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="An earlier validation.json: predict its measured levels again, without Locust.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
def validate_command(
    calibration: str,
    scenario_name: str,
    quick: bool,
    seeds: int,
    measured: Path | None,
    out: Path | None,
) -> None:
    """Locust at several load levels against the served cluster; the twin fitted on two,
    predicting the rest; writes validation.json."""
    from loadtests.scenario import SCENARIOS
    from sim.validate import Level, validate

    with bad_input():
        calibrated = load_calibration(calibration)
        base = Path(scenario_name)
        base = base if base.suffix else SCENARIOS / f"{scenario_name}.toml"
        load_scenario(base)
        earlier = earlier_levels(measured) if measured else None
    users: tuple[int, ...] = QUICK_LEVELS if quick else FULL_LEVELS
    duration_s, ramp_s = (15.0, 2.0) if quick else (60.0, 5.0)
    fitted_on = users[:1] if quick else (users[1], users[3])
    out = out or default_out("validate")
    with bad_input():
        answer = validate(
            [Level(n, duration_s, ramp_s) for n in users],
            fitted_on,
            calibrated,
            calibration,
            out,
            base=base,
            seeds=seeds,
            progress=lambda line: click.echo(line, err=True),
            measured=earlier,
        )
    (out / "validation.json").write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    click.echo(validation_table(answer))
    click.echo(f"sim: results in {out}")


def operation_table(answer: dict[str, Any]) -> list[str]:
    lines = [
        f"{'users':>6} {'operation':<18} {'req/s meas/pred':>15} {'p50 ms meas/pred':>18} "
        f"{'err':>5} {'p95 ms meas/pred':>18} {'err':>5}"
    ]
    for row in answer["levels"]:
        for name, op in row.get("per_operation", {}).items():
            m, p, e = op["measured"], op["predicted"], op["error"]
            lines.append(
                f"{row['users']:>6} {name:<18} {m['throughput']:>7.2f}/{p['throughput']:<7.2f} "
                f"{m['p50_ms']:>8.1f}/{p['p50_ms']:<9.1f} {e['p50']:>5.0%} "
                f"{m['p95_ms']:>8.1f}/{p['p95_ms']:<9.1f} {e['p95']:>5.0%}"
            )
    return lines


def earlier_levels(path: Path) -> list[dict[str, Any]]:
    """The measured levels of an earlier validation.json (one this version wrote)."""
    try:
        levels: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["levels"]
        complete = all("per_operation" in level["stats"] and "usage" in level for level in levels)
    except (json.JSONDecodeError, KeyError, TypeError):
        complete = False
    if not complete:
        raise ValueError(
            f"--measured {path}: not a validation.json with per-operation statistics; "
            "run `estore sim validate` without --measured to measure again"
        )
    return levels


def validation_table(answer: dict[str, Any]) -> str:
    lines = [
        f"{'users':>6} {'':>5} {'req/s meas/pred':>17} {'err':>5} {'p50 ms meas/pred':>18} "
        f"{'err':>5} {'p95 ms meas/pred':>18} {'err':>5}"
    ]
    for row in answer["levels"]:
        m, p, e = row["measured"], row["predicted"], row["error"]
        lines.append(
            f"{row['users']:>6} {'fit' if row['used_for_calibration'] else '':>5} "
            f"{m['throughput']:>8.1f}/{p['throughput']:<8.1f} {e['throughput']:>5.0%} "
            f"{m['p50_ms']:>8.1f}/{p['p50_ms']:<9.1f} {e['p50']:>5.0%} "
            f"{m['p95_ms']:>8.1f}/{p['p95_ms']:<9.1f} {e['p95']:>5.0%}"
        )
    lines += operation_table(answer)
    goal = answer["goal"]
    lines.append(
        f"goal (held-out levels): throughput {goal['throughput']:.0%}, p50 {goal['p50']:.0%}, "
        f"p95 {goal['p95']:.0%}: {'met' if answer['met'] else 'not met'}"
    )
    return "\n".join(lines)
