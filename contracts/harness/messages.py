"""Message pacts: the event envelope as consumers read it, and events read back off a stream."""

from __future__ import annotations

from typing import Any

from pact import match

from estore.kit.events import Event
from estore.kit.events.model import decode, encode

ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
UUID = r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
ID = r"^[A-Za-z0-9_-]+$"
CURRENCY = r"^[A-Z]{3}$"


def timestamp(example: str = "2024-06-01T12:00:00.000000Z") -> Any:
    return match.regex(example, regex=ISO_DATETIME)


def at_least_one(example: Any) -> Any:
    """An array of one or more items like `example`.

    Pact's `each_like` without `min` writes a bare type rule that an empty array satisfies;
    every array a consumer reads an element of needs at least one.
    """
    return match.each_like(example, min=1)


def money(amount: int = 1999, currency: str = "EUR") -> dict[str, Any]:
    return {"amount": match.int(amount), "currency": match.regex(currency, regex=CURRENCY)}


def envelope(event_type: str, producer: str, data: dict[str, Any]) -> dict[str, Any]:
    """The stream entry's event as every consumer decodes it (kit/events/model.py `Event`)."""
    return {
        "id": match.regex("7b0c7a4e-0f4e-4d8e-9a35-2c1f0b6a9d11", regex=UUID),
        "type": event_type,
        "time": timestamp(),
        "producer": producer,
        "version": match.int(1),
        "data": data,
    }


def as_event(body: str | bytes | None) -> Event:
    """What a consumer's bus hands its handler for this message body."""
    assert body is not None, "the message has no body"
    return Event.model_validate_json(body)


async def last_published(redis: Any, stream: str) -> dict[str, Any]:
    """The newest event on `stream`, in the wire form the consumer groups read."""
    entries = await redis.xrevrange(stream, count=1)
    assert entries, f"nothing was published on {stream}"
    _, fields = entries[0]
    event: dict[str, Any] = decode(fields).model_dump(mode="json")
    return event


async def deliver(redis: Any, bus: Any, event: Event) -> None:
    """Put `event` on its stream as the publisher's relay would, and let the consumer run.

    The bus's background loops are stopped first and `drain()` consumes in the test's task:
    with the consume loop running beside `drain()`, a run now and then never finished.
    """
    await bus.stop()
    await redis.xadd(event.type, encode(event))
    await bus.drain()
