"""The baseline to diff against: an earlier report.json, or the one stored at a git tag.

A release keeps its report by committing its report.json as reports/baseline.json before it is
tagged; `--baseline v1.4` then reads `git show v1.4:reports/baseline.json`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from reports.parts import ROOT

STORED = "reports/baseline.json"
REPORT_KIND = "estore-resilience-report"


class BaselineError(ValueError):
    """The baseline named cannot be read."""


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {where} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != REPORT_KIND:
        raise BaselineError(f"baseline {where} is not a report.json of `estore report`")
    return data


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def load_baseline(name: str) -> tuple[dict[str, Any], str]:
    """The baseline report and a label for it: a path (a report.json or its folder) or a tag."""
    path = Path(name)
    if path.is_dir():
        path = path / "report.json"
    if path.is_file():
        return _parse(path.read_text(), str(path)), str(name)
    if _git("rev-parse", "--verify", "--quiet", f"refs/tags/{name}").returncode != 0:
        raise BaselineError(f"baseline {name}: no such report file and no such git tag")
    shown = _git("show", f"{name}:{STORED}")
    if shown.returncode != 0:
        raise BaselineError(f"baseline {name}: the tag stores no {STORED}")
    return _parse(shown.stdout, f"{name}:{STORED}"), f"tag {name}"
