"""`estore chaos ...` through click: exit 0 clean, 1 a violation, 2 could not run."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from chaos.cli import chaos


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(chaos, list(args))
    return result.exit_code, result.output


def test_a_clean_campaign_exits_0_and_writes_its_summary(tmp_path: Path) -> None:
    code, output = _invoke("campaign", "--seed", "3", "--schedules", "3", "--out", str(tmp_path))

    assert code == 0, output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schedules"] == 3 and summary["failures"] == []
    assert "coverage (link x kind" in output


def test_a_campaign_with_a_violation_exits_1_with_the_replay_command(tmp_path: Path) -> None:
    code, output = _invoke(
        "campaign",
        "--seed",
        "1",
        "--schedules",
        "2",
        "--mutant",
        "double_charge",
        "--no-shrink",
        "--out",
        str(tmp_path),
    )

    assert code == 1, output
    assert "replay: estore chaos replay --seed" in output
    assert list(tmp_path.glob("failure-*.history.jsonl"))


def test_replaying_a_seed_twice_prints_the_same_hash() -> None:
    first = _invoke("replay", "--seed", "17")
    second = _invoke("replay", "--seed", "17")

    assert first[0] == 0, first[1]
    assert first == second
    assert "hash " in first[1]


def test_replay_runs_a_schedule_file_and_refuses_a_malformed_one(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    from chaos.schedule import generate

    good.write_text(generate(17).to_json())
    bad.write_text('{"seed": 1}')

    assert _invoke("replay", "--schedule", str(good))[1] == _invoke("replay", "--seed", "17")[1]
    code, output = _invoke("replay", "--schedule", str(bad))
    assert code == 2
    assert "not a valid schedule" in output and "Traceback" not in output


def test_replay_needs_a_seed_or_a_schedule() -> None:
    code, output = _invoke("replay")

    assert code == 2
    assert "one of --seed or --schedule" in output


def test_the_mutant_check_passes_when_its_mutants_are_caught() -> None:
    code, output = _invoke("mutants", "--only", "double_charge", "--limit", "20")

    assert code == 0, output
    assert "caught   double_charge" in output and "1/1 mutants caught" in output


def test_an_uncaught_targeted_mutant_exits_1_naming_its_bug() -> None:
    # Targeted mutants need a schedule made for them: one random schedule does not catch this.
    code, output = _invoke("mutants", "--only", "late_charge_unvoided", "--limit", "1")

    assert code == 1, output
    assert "UNCAUGHT late_charge_unvoided" in output and "a late charge lands" in output


def test_an_unknown_mutant_exits_2_with_a_clear_error() -> None:
    code, output = _invoke("mutants", "--only", "no_such_bug")

    assert code == 2
    assert "unknown mutant 'no_such_bug'" in output


def test_the_estore_entry_point_names_this_group() -> None:
    import importlib
    import tomllib

    import click

    root = Path(__file__).resolve().parents[2]
    points = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"]
    module, _, name = points["estore.commands"]["chaos"].partition(":")
    group = getattr(importlib.import_module(module), name)

    assert isinstance(group, click.Group)
    assert {"campaign", "replay", "mutants"} <= set(group.commands)
