"""Domain event envelope: what a producer publishes, what a consumer receives, and its wire form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import propagate
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from redis.typing import EncodableT, FieldT

from estore.kit.ids import new_uuid

# One stream entry holds one field: the event's JSON. Keeping the envelope in one field keeps
# its types (ints, nested dicts) intact, which flat stream fields (all strings) would not.
EVENT_FIELD = "event"


class Event(BaseModel):
    """One domain event: `type` is the stream it travels on (`order:created`, ...)."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    time: AwareDatetime
    producer: str
    # W3C trace context carrier (`traceparent`, maybe `tracestate`) of the publishing request.
    trace: dict[str, str] = Field(default_factory=dict)
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict)


def new_event(
    name: str, data: Mapping[str, Any], *, producer: str, time: datetime, version: int = 1
) -> Event:
    """An event stamped with a fresh id and the caller's current trace context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return Event(
        id=new_uuid(),
        type=name,
        time=time,
        producer=producer,
        trace=carrier,
        version=version,
        data=dict(data),
    )


def encode(event: Event) -> dict[FieldT, EncodableT]:
    """The stream entry fields for `event`."""
    return {EVENT_FIELD: event.model_dump_json()}


def decode(fields: Mapping[Any, Any] | None) -> Event:
    """The event in a stream entry; raises ValueError when the entry is not one of ours."""
    raw = _field(fields, EVENT_FIELD)
    if raw is None:
        raise ValueError(f"stream entry has no {EVENT_FIELD!r} field")
    return Event.model_validate_json(raw)


def _field(fields: Mapping[Any, Any] | None, name: str) -> Any:
    # Clients may run with or without decode_responses, so keys arrive as str or bytes.
    if not fields:
        return None
    return fields.get(name, fields.get(name.encode()))


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Backoff:
    """Exponential delays: `base` after the first failure, doubling, never above `cap`."""

    base: float
    cap: float

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, failures - 1))
