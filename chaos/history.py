"""The recorded history of a run: one canonical JSON line per call, answer, fault and fact.

Lines are written in the order things happen on the one event loop, each stamped with
simulated time, with sorted keys and no floats beyond what the schedule holds, so the same
schedule writes the same bytes and the hash names the run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


class History:
    def __init__(self, now: Any) -> None:
        self._now = now
        self.lines: list[str] = []

    def add(self, event: str, **fields: Any) -> int:
        """Append one line; returns its number (1-based), which violations cite."""
        record = {"t": round(self._now(), 6), "event": event, **fields}
        self.lines.append(json.dumps(record, sort_keys=True, separators=(",", ":"), default=str))
        return len(self.lines)

    def __getstate__(self) -> dict[str, Any]:
        # A finished history travels between processes as its lines; the clock stays behind.
        return {"lines": self.lines}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._now = _finished
        self.lines = state["lines"]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def digest(self) -> str:
        return hashlib.sha256(self.text().encode()).hexdigest()


def _finished() -> float:
    raise RuntimeError("a history read back from another process is finished")
