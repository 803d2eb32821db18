"""Chaos Toolkit experiments: valid files, run in-process, judged passed / failed / inconclusive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaos.cli import chaos
from chaos.experiment import ExperimentError, experiment_files, judge, load, run_file
from chaos.toolkit import SERVED_ENV

# The list: one fault-isolation experiment per dependency.
DEPENDENCIES = {"payment", "coupon", "product", "category", "order", "auth", "ticket", "redis"}


def test_there_is_a_valid_experiment_per_dependency_with_rollbacks() -> None:
    files = experiment_files()
    experiments = [load(path) for path in files]

    assert {e["tags"][-1] for e in experiments} == DEPENDENCIES
    assert all(e["rollbacks"] and e["steady-state-hypothesis"]["probes"] for e in experiments)


@pytest.mark.parametrize("path", experiment_files(), ids=lambda p: p.stem)
def test_the_experiment_passes_in_process_with_its_figures(path: Path) -> None:
    verdict = run_file(path)

    assert verdict.verdict == "passed", verdict.reasons
    assert verdict.figures["faults-injected"] > 0
    # Redis has no breaker (the outbox relay backs off): what it held is its figure.
    if "breaker-state" in verdict.figures:
        assert verdict.figures["breaker-state"] == "open"
    else:
        assert verdict.figures["events-waiting-during-fault"] > 0
    assert 0 <= verdict.figures["seconds-to-steady"] <= 60


def _journal(before: bool, injected: int, after: bool = True, **figures: Any) -> dict[str, Any]:
    probes = {"faults-injected": injected, **figures}
    return {
        "status": "completed",
        "steady_states": {
            "before": {"steady_state_met": before},
            "after": {"steady_state_met": after},
        },
        "run": [
            {"activity": {"type": "probe", "name": n}, "output": v, "status": "succeeded"}
            for n, v in probes.items()
        ],
    }


EXPECT = {"extensions": [{"name": "estore", "expect": {"browse": [0.995, 1.0], "c": {"ok": True}}}]}


def test_a_run_whose_steady_state_failed_first_is_inconclusive_not_passed() -> None:
    verdict = judge("t", EXPECT, _journal(before=False, injected=3, browse=1.0, c={"ok": True}))

    assert verdict.verdict == "inconclusive"


def test_a_run_that_injected_nothing_is_inconclusive() -> None:
    verdict = judge("t", EXPECT, _journal(before=True, injected=0, browse=1.0, c={"ok": True}))

    assert (verdict.verdict, verdict.reasons) == ("inconclusive", ["no fault was injected"])


def test_a_figure_outside_its_expectation_fails_the_run() -> None:
    verdict = judge("t", EXPECT, _journal(before=True, injected=3, browse=0.9, c={"ok": False}))

    assert verdict.verdict == "failed"
    assert len(verdict.reasons) == 2


def test_a_run_meeting_everything_passes() -> None:
    verdict = judge("t", EXPECT, _journal(before=True, injected=3, browse=1.0, c={"ok": True}))

    assert verdict.verdict == "passed"


def test_an_unknown_or_malformed_experiment_file_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "no method"}))

    with pytest.raises(ExperimentError, match="not a valid experiment"):
        load(bad)
    result = CliRunner().invoke(chaos, ["experiment", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "cannot read experiment" in result.output and "Traceback" not in result.output


def test_the_experiment_command_writes_journals_and_a_summary(tmp_path: Path) -> None:
    path = next(p for p in experiment_files() if p.stem.startswith("payment"))

    result = CliRunner().invoke(chaos, ["experiment", str(path), "--out", str(tmp_path)])

    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "experiments.json").read_text())
    assert summary["experiments"][0]["verdict"] == "passed"
    assert (tmp_path / f"{path.stem}.journal.json").exists()


def test_the_same_file_runs_served_with_the_chaos_toolkit_cli(tmp_path: Path) -> None:
    """`chaos run` (the Chaos Toolkit CLI) against the cluster served on loopback ports.

    Redis's experiment: it heals in well under a second, where a breaker's cool-down would
    cost half a minute of real time; every experiment runs served the same way."""
    path = next(p for p in experiment_files() if p.stem.startswith("redis"))
    journal = tmp_path / "journal.json"
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        SERVED_ENV: "1",
        "PYTHONPATH": os.pathsep.join([str(root / "platform"), str(root)]),
    }
    command = [
        str(Path(sys.executable).with_name("chaos")),
        "--log-file",
        str(tmp_path / "chaostoolkit.log"),
        "run",
        "--rollback-strategy",
        "always",
        "--journal-path",
        str(journal),
        str(path),
    ]

    subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, check=True, timeout=600)
    verdict = judge(path.stem, load(path), json.loads(journal.read_text()))

    assert verdict.verdict == "passed", verdict.reasons
    assert verdict.figures["faults-injected"] > 0
    assert verdict.figures["events-waiting-during-fault"] > 0
