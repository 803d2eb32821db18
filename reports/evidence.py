"""Read the parts' artifacts into plain figures. Each reader returns None when its artifact is
missing (the part did not run or wrote nothing) and raises `ArtifactError` when it is there but
cannot be read."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MUTANT_LINE = re.compile(r"^(caught|UNCAUGHT)\s+(\S+)\s+(.*)$")


class ArtifactError(ValueError):
    """An artifact exists but is not what its part promises."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not JSON: {exc}") from exc


@dataclass
class TestCase:
    group: str
    node: str
    passed: bool
    message: str = ""


def contract_group(classname: str) -> str:
    """pacts, deploy_matrix, fuzzing or schema: which rule a contracts test case speaks to."""
    if ".fuzz." in classname:
        return "fuzzing"
    if "deploy_matrix" in classname:
        return "deploy_matrix"
    if ".schema." in classname:
        return "schema"
    return "pacts"


def contract_cases(path: Path) -> list[TestCase] | None:
    if not path.exists():
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ArtifactError(f"{path} is not JUnit XML: {exc}") from exc
    cases = []
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        node = classname.replace(".", "/") + ".py::" + case.get("name", "")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        message = (
            (problem.get("message") or "").splitlines()[0][:300] if problem is not None else ""
        )
        cases.append(TestCase(contract_group(classname), node, problem is None, message))
    return cases


@dataclass
class SchemaCheck:
    breaking: list[str]
    dangerous: list[str]


def _tagged(lines: list[str], tag: str) -> list[str]:
    return [line.removeprefix(tag) for line in lines if line.startswith(tag)]


def schema_check(path: Path) -> SchemaCheck | None:
    """The breaking and dangerous lines `python -m contracts.schema.snapshot` printed."""
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    return SchemaCheck(
        breaking=[
            line.removeprefix("breaking: ") for line in lines if line.startswith("breaking: ")
        ],
        dangerous=[
            line.removeprefix("dangerous: ") for line in lines if line.startswith("dangerous: ")
        ],
    )


def campaign(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = _json(path)
    if data.get("kind") != "chaos-campaign":
        raise ArtifactError(f"{path} is not a chaos campaign summary")
    return dict(data)


@dataclass
class MutantCheck:
    caught: dict[str, str] = field(default_factory=dict)
    uncaught: dict[str, str] = field(default_factory=dict)


def mutants(path: Path) -> MutantCheck | None:
    """The caught / UNCAUGHT lines `estore chaos mutants` printed."""
    if not path.exists():
        return None
    check = MutantCheck()
    for line in path.read_text().splitlines():
        match = MUTANT_LINE.match(line.strip())
        if match:
            target = check.caught if match[1] == "caught" else check.uncaught
            target[match[2]] = match[3]
    if not check.caught and not check.uncaught:
        return None
    return check


def experiments(path: Path) -> list[dict[str, Any]] | None:
    if not path.exists():
        return None
    return list(_json(path).get("experiments", []))


@dataclass
class LoadRun:
    folder: Path
    gates: dict[str, Any]
    invariants: dict[str, Any]
    operations: list[dict[str, Any]]
    history: list[dict[str, str]]


def load_run(parts: Path) -> LoadRun | None:
    """The newest run folder `loadtests.run --out` made under `parts`."""
    runs = sorted(p.parent for p in parts.glob("*/gates.json")) if parts.exists() else []
    if not runs:
        return None
    folder = runs[-1]
    stats = folder / "stats.json"
    history = folder / "locust_stats_history.csv"
    invariants = folder / "invariants.json"
    return LoadRun(
        folder=folder,
        gates=_json(folder / "gates.json"),
        invariants=_json(invariants) if invariants.exists() else {},
        operations=list(_json(stats)) if stats.exists() else [],
        history=list(csv.DictReader(history.open())) if history.exists() else [],
    )


def sim_artifact(path: Path) -> dict[str, Any] | None:
    return dict(_json(path)) if path.exists() else None


BENCH_SECTION = re.compile(r"^## (.+?)(?: \(`(.+?)`\))?\s*$")
NUMBER = re.compile(r"^-?[\d,]+(?:\.\d+)?")


def benchmark_figures(path: Path) -> dict[str, float] | None:
    """Every number in the tables of reports/benchmarks.md, keyed by section | row | column."""
    if not path.exists():
        return None
    figures: dict[str, float] = {}
    section, header, rows = "", list[str](), 0
    for line in path.read_text().splitlines():
        heading = BENCH_SECTION.match(line)
        if heading:
            section, header, rows = heading[2] or heading[1], [], 0
            continue
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not header:
            header = cells
            continue
        rows += 1  # rows can share a label (one client at several sizes)
        for column, cell in zip(header[1:], cells[1:], strict=False):
            number = NUMBER.match(cell.strip("*`"))
            if number:
                figures[f"{section} | {rows}. {cells[0]} | {column}"] = float(
                    number[0].replace(",", "")
                )
    return figures
