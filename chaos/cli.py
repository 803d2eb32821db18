"""`estore chaos ...`: campaigns, replays, the mutant check and Chaos Toolkit experiments.

Exit status: 0 nothing broke, 1 an invariant broke (or a mutant went uncaught), 2 the run
could not be made (bad input, a cluster that would not start).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from chaos.campaign import CampaignResult, replay_command, run_campaign, schedule_seeds
from chaos.experiment import ExperimentError, experiment_files, load, run_file
from chaos.mutants import MUTANTS, UnknownMutant, mutant
from chaos.run import RunResult, quiet_logs, run
from chaos.schedule import Schedule, ScheduleError, generate
from chaos.toolkit import SERVED_ENV

OK, VIOLATION, COULD_NOT_RUN = 0, 1, 2
DEFAULT_OUT = Path("reports/chaos")
MUTANT_LIMIT = 1000

T = TypeVar("T")


@click.group()
def chaos() -> None:
    """Seeded fault campaigns, replays, mutants and Chaos Toolkit experiments."""


@chaos.command()
@click.option("--seed", type=int, default=1, show_default=True, help="The campaign's seed.")
@click.option("--schedules", type=click.IntRange(min=1), default=100, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write summary.json and failing histories [default: reports/chaos/<time>].",
)
@click.option("--mutant", "mutant_name", default=None, help="Plant this bug in every run.")
@click.option("--shrink/--no-shrink", default=True, show_default=True)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Schedules played at once (forked processes).",
)
def campaign(
    seed: int,
    schedules: int,
    out: Path | None,
    mutant_name: str | None,
    shrink: bool,
    jobs: int,
) -> None:
    """Run N seeded fault schedules and check the invariants after each."""
    quiet_logs()
    seeds = schedule_seeds(seed, schedules)
    with _progress(len(seeds), "schedules") as tick:
        result = _or_exit(
            lambda: run_campaign(seeds, mutant=mutant_name, shrink=shrink, progress=tick, jobs=jobs)
        )
    target = out or DEFAULT_OUT / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    _write(result, target)
    for line in result.summary_lines():
        click.echo(line)
    click.echo(f"summary: {target / 'summary.json'}")
    sys.exit(OK if result.passed else VIOLATION)


@chaos.command()
@click.option("--seed", type=int, default=None, help="Replay the schedule of this seed.")
@click.option(
    "--schedule",
    "schedule_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Replay a schedule file (a shrunk one, say).",
)
@click.option("--mutant", "mutant_name", default=None)
@click.option(
    "--history/--no-history", "show_history", default=False, help="Print every history line."
)
def replay(
    seed: int | None, schedule_file: Path | None, mutant_name: str | None, show_history: bool
) -> None:
    """Run one schedule again: the same seed gives the same history, byte for byte."""
    quiet_logs()
    schedule = _or_exit(lambda: _schedule(seed, schedule_file))
    plant = _or_exit(lambda: mutant(mutant_name).plant) if mutant_name else None
    result = _or_exit(lambda: run(schedule, plant))
    if show_history:
        for n, line in enumerate(result.history.lines, 1):
            click.echo(f"{n:>4} {line}")
    _report(result)
    sys.exit(VIOLATION if result.failed else OK)


@chaos.command()
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=MUTANT_LIMIT,
    show_default=True,
    help="Schedules to try per mutant before calling it uncaught.",
)
@click.option("--only", "names", multiple=True, help="Check only these mutants.")
def mutants(seed: int, limit: int, names: tuple[str, ...]) -> None:
    """Plant each known bug in turn; every one must be caught by an invariant."""
    quiet_logs()
    chosen = list(names) or list(MUTANTS)
    _or_exit(lambda: [mutant(name) for name in chosen])
    uncaught: list[str] = []
    for name in chosen:
        with _progress(limit, name) as tick:
            found = _or_exit(
                lambda name=name, tick=tick: run_campaign(  # type: ignore[misc]
                    schedule_seeds(seed, limit),
                    mutant=name,
                    shrink=False,
                    stop_at_first=True,
                    progress=tick,
                )
            )
        if found.failures:
            failure = found.failures[0]
            click.echo(
                f"caught   {name:<24} after {found.schedules:>4} schedule(s) by "
                f"{', '.join(failure.invariants)}; {replay_command(failure.seed, name)}"
            )
        else:
            uncaught.append(name)
            click.echo(f"UNCAUGHT {name:<24} in {limit} schedules: {mutant(name).bug}")
    click.echo(f"{len(chosen) - len(uncaught)}/{len(chosen)} mutants caught")
    sys.exit(OK if not uncaught else VIOLATION)


@chaos.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the journals and experiments.json "
    "[default: reports/chaos/<time>-experiments].",
)
@click.option(
    "--served/--in-process",
    default=False,
    show_default=True,
    help="Serve the cluster on loopback ports (real sockets, system clock), as `estore up` does.",
)
def experiment(files: tuple[Path, ...], out: Path | None, served: bool) -> None:
    """Run Chaos Toolkit experiments (all of chaos/experiments by default).

    Exit 0 only when every one passed: a failed or inconclusive one exits 1.
    """
    quiet_logs()
    if served:
        os.environ[SERVED_ENV] = "1"
    paths = list(files) or experiment_files()
    _or_exit(lambda: [load(path) for path in paths])
    target = out or DEFAULT_OUT / (datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-experiments")
    target.mkdir(parents=True, exist_ok=True)
    verdicts = []
    for path in paths:
        verdict = _or_exit(lambda path=path: run_file(path))  # type: ignore[misc]
        verdicts.append(verdict)
        (target / f"{path.stem}.journal.json").write_text(
            json.dumps(verdict.journal, indent=2, default=str) + "\n"
        )
        click.echo(f"{verdict.verdict.upper():<12} {path.name}: {verdict.title}")
        for reason in verdict.reasons:
            click.echo(f"    {reason}")
    summary = {"kind": "chaos-experiments", "experiments": [v.to_dict() for v in verdicts]}
    (target / "experiments.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    click.echo(f"journals: {target}")
    sys.exit(OK if all(v.verdict == "passed" for v in verdicts) else VIOLATION)


def _schedule(seed: int | None, path: Path | None) -> Schedule:
    if (seed is None) == (path is None):
        raise click.UsageError("give one of --seed or --schedule")
    if path is not None:
        try:
            return Schedule.from_json(path.read_text())
        except OSError as exc:
            raise ScheduleError(f"cannot read {path}: {exc.strerror}") from exc
    assert seed is not None
    return generate(seed)


def _report(result: RunResult) -> None:
    click.echo(
        f"seed {result.schedule.seed}: {len(result.history.lines)} history lines, "
        f"hash {result.digest}"
    )
    click.echo(f"faults: {len(result.schedule.faults)}; injected: {result.injections}")
    if not result.violations:
        click.echo("no invariant broken")
    for violation in result.violations:
        click.echo(f"VIOLATION {violation}")


def _write(result: CampaignResult, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / "summary.json").write_text(result.to_json() + "\n")
    for failure in result.failures:
        (target / f"failure-{failure.seed}.history.jsonl").write_text(failure.history)
        if failure.shrunk is not None:
            (target / f"failure-{failure.seed}.shrunk.json").write_text(failure.shrunk.to_json())


@contextlib.contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int, int, RunResult], None]]:
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:

        def tick(done: int, _: int, result: RunResult) -> None:
            bar.update(1)
            if result.failed:
                bar.label = f"{label} (violations at seed {result.schedule.seed})"

        yield tick


def _or_exit(action: Callable[[], T]) -> T:
    """Run `action`; bad input or a run that cannot start ends the command with status 2."""
    try:
        return action()
    except (ScheduleError, UnknownMutant, ExperimentError, click.UsageError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(COULD_NOT_RUN)
    except RuntimeError as exc:  # a cluster that would not start, a forked run that died
        click.echo(f"error: the run could not be made: {exc}", err=True)
        sys.exit(COULD_NOT_RUN)
