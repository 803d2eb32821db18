"""The `estore` CLI picks up harness commands from entry points, and says why one is missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
import pytest
from click.testing import CliRunner

from estore import cli


@dataclass
class _Point:
    name: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


@click.command()
def _hello() -> None:
    click.echo("hello from the harness")


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [_Point("hello", _hello), _Point("broken", ImportError("No module named 'simpy'"))]
    def entry_points(group: str, name: str | None = None) -> list[_Point]:
        found = points if group == cli.COMMAND_GROUP else []
        return [point for point in found if name is None or point.name == name]

    monkeypatch.setattr(cli, "entry_points", entry_points)


def test_a_registered_harness_command_runs_through_estore(harness: None) -> None:
    result = CliRunner().invoke(cli.main, ["hello"])
    assert result.exit_code == 0, result.output
    assert "hello from the harness" in result.output


def test_harness_commands_are_listed_beside_the_built_in_ones(harness: None) -> None:
    result = CliRunner().invoke(cli.main, ["--help"])
    assert "hello" in result.output and "up" in result.output and "broken" in result.output


def test_a_harness_command_that_cannot_import_says_why_and_fails(harness: None) -> None:
    result = CliRunner().invoke(cli.main, ["broken"])
    assert result.exit_code == 1
    assert "No module named 'simpy'" in result.output
    assert "make test" in result.output


def test_an_unknown_command_is_still_refused(harness: None) -> None:
    result = CliRunner().invoke(cli.main, ["nonsense"])
    assert result.exit_code == 2
    assert "No such command" in result.output
