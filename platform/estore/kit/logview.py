"""Reading one log stream back: a request's lines across services, and its span tree."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from estore.kit.observability import LOG_FIELDS, SPAN_EVENT

# Fields every line shows in its own column; the rest follow as key=value.
_COLUMNS = ("time", "service", "level", "event")
_HIDDEN = frozenset({*LOG_FIELDS, "logger"})


@dataclass
class LogStream:
    """The JSON lines of a stream; anything else (a stray print, a cut line) is counted."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    @classmethod
    def read(cls, lines: Iterable[str]) -> LogStream:
        stream = cls()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                stream.skipped += bool(line.strip())
                continue
            if isinstance(record, dict):
                stream.records.append(record)
            else:
                stream.skipped += 1
        return stream

    def lines(
        self, trace_id: str | None = None, service: str | None = None
    ) -> list[dict[str, Any]]:
        """Log lines (not spans), oldest first, of one trace and/or one service."""
        chosen = [
            record
            for record in self.records
            if record.get("event") != SPAN_EVENT
            and (trace_id is None or record.get("trace_id") == trace_id)
            and (service is None or record.get("service") == service)
        ]
        return sorted(chosen, key=lambda record: str(record.get("time", "")))

    def spans(self, trace_id: str) -> list[dict[str, Any]]:
        chosen = [
            record
            for record in self.records
            if record.get("event") == SPAN_EVENT and record.get("trace_id") == trace_id
        ]
        return sorted(chosen, key=lambda span: int(span.get("start_ns", 0)))


def format_line(record: dict[str, Any]) -> str:
    head = " ".join(str(record.get(column, "-")) for column in _COLUMNS)
    rest = " ".join(f"{key}={value}" for key, value in record.items() if key not in _HIDDEN)
    return f"{head} {rest}".rstrip()


def span_tree(spans: list[dict[str, Any]]) -> Iterator[str]:
    """The spans as an indented tree, children under their parent in start order."""
    ids = {span.get("span_id") for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span.get("parent_id")
        # A parent outside this stream (the caller's own span) makes its child a root.
        children.setdefault(parent if parent in ids else None, []).append(span)

    def walk(parent: str | None, depth: int) -> Iterator[str]:
        for span in children.get(parent, []):
            mark = "  ERROR" if span.get("error") else ""
            yield (
                f"{'  ' * depth}{span.get('span_name')} [{span.get('service')}] "
                f"{float(span.get('duration_ms', 0)):.1f} ms{mark}"
            )
            yield from walk(span.get("span_id"), depth + 1)

    yield from walk(None, 0)
