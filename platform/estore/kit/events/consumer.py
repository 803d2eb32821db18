"""Consumer group reader: runs a service's handlers on its streams, at least once, idempotently.

Every consuming service reads with its own consumer group (group = service name), so each
service gets every event. A handler's success is recorded in the consumer's `processed_events`
collection before the entry is acked; an entry delivered again whose event id is recorded as
done is acked without running the handler. The window left open is between the handler's own
writes and that record: a handler that must never apply twice should also key its writes on
`event.id`.

A failed handler leaves its entry pending; it is retried with backoff and, after
`max_attempts` failures, parked on the dead-letter stream `deadletter:<group>` with the error
text and acked. Entries pending on a consumer that died are taken over with XAUTOCLAIM once
they have been idle for `claim_idle` seconds.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Tracer
from pydantic import ValidationError
from pymongo import ReturnDocument
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from estore.kit.clock import Clock
from estore.kit.events.model import EVENT_FIELD, Backoff, Event, decode, text

Handler = Callable[[Event], Awaitable[None]]

PROCESSED_COLLECTION = "processed_events"
DONE = "done"
FAILING = "failing"
DEAD = "dead"

log = logging.getLogger(__name__)

Entry = tuple[str, Mapping[Any, Any] | None]


def dead_letter_stream(group: str) -> str:
    """Where a consumer group parks the events its handlers gave up on."""
    return f"deadletter:{group}"


class GroupConsumer:
    def __init__(
        self,
        *,
        group: str,
        consumer: str,
        redis: Redis,
        db: AsyncIOMotorDatabase[Any],
        clock: Clock,
        handlers: Mapping[str, Handler],
        max_attempts: int,
        retry: Backoff,
        claim_idle: float,
        batch_size: int,
        tracer: Tracer | None = None,
    ) -> None:
        self.group = group
        self.consumer = consumer
        self._redis = redis
        self._processed = db[PROCESSED_COLLECTION]
        self._clock = clock
        self._handlers = handlers
        self._max_attempts = max_attempts
        self._retry = retry
        self._claim_idle_ms = int(claim_idle * 1000)
        self._batch_size = batch_size
        self._tracer = tracer or trace.NoOpTracer()
        self._groups_for: frozenset[str] = frozenset()
        # Our own pending entries may exist (a restart under the same name, a failed handler);
        # until a scan of them comes back empty, each cycle looks at them first.
        self._maybe_pending = True
        self._retry_at: dict[tuple[str, str], float] = {}

    async def consume(self, wait: float | None = None) -> int:
        """Handle due retries, then new entries; wait up to `wait` seconds for new ones.

        Returns how many entries were looked at. `wait` becomes an XREADGROUP BLOCK (on the
        system clock); None reads without blocking and leaves the waiting to the caller.
        """
        try:
            await self._ensure_groups()
            seen = await self._retry_due() if self._maybe_pending else 0
            return seen + await self._read_new(None if seen else wait)
        except BaseException as exc:
            self._after_error(exc)
            raise

    async def reclaim(self) -> int:
        """Take over entries idle on other (crashed) consumers of the group and handle them."""
        try:
            await self._ensure_groups()
            return await self._claim_idle_entries()
        except BaseException as exc:
            self._after_error(exc)
            raise

    async def ensure_indexes(self, retention: float) -> None:
        # Dedupe records only need to outlive redelivery; a real Mongo drops older ones.
        await self._processed.create_index([("handled_at", 1)], expireAfterSeconds=int(retention))

    def _after_error(self, exc: BaseException) -> None:
        # Whatever broke off mid-batch is still pending on us: look there first next time.
        self._maybe_pending = True
        # A Redis restarted without persistence has lost its groups: make them again.
        if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
            self._groups_for = frozenset()

    async def _claim_idle_entries(self) -> int:
        taken = 0
        for stream in self._handlers:
            start: Any = "0-0"
            while True:
                reply = await self._redis.xautoclaim(
                    stream,
                    self.group,
                    self.consumer,
                    self._claim_idle_ms,
                    start,
                    count=self._batch_size,
                )
                start, entries = reply[0], reply[1]
                for message_id, fields in entries:
                    await self._handle(stream, text(message_id), fields)
                    taken += 1
                if text(start) == "0-0":
                    break
        return taken

    def forget_groups(self) -> None:
        """Make the next read create the consumer groups again (they may have been lost)."""
        self._groups_for = frozenset()

    async def _ensure_groups(self) -> None:
        wanted = frozenset(self._handlers)
        if wanted == self._groups_for:
            return
        for stream in wanted:
            try:
                # At id 0 with MKSTREAM: a group created after events were published still
                # sees them, so a service's first start misses nothing already on its streams.
                await self._redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_for = wanted

    async def _read_new(self, wait: float | None) -> int:
        # BLOCK 0 means forever in Redis, so a wait always rounds up to at least 1 ms.
        block = max(1, int(wait * 1000)) if wait else None
        reply = await self._redis.xreadgroup(
            self.group,
            self.consumer,
            dict.fromkeys(self._handlers, ">"),
            count=self._batch_size,
            block=block,
        )
        seen = 0
        for stream, entries in _by_stream(reply):
            for message_id, fields in entries:
                await self._handle(stream, message_id, fields)
                seen += 1
        return seen

    async def _retry_due(self) -> int:
        # Reading our whole pending list also refreshes its idle time, so entries waiting for a
        # retry on a live consumer are never mistaken for a crashed consumer's and claimed.
        seen = 0
        present: set[tuple[str, str]] = set()
        for stream in self._handlers:
            for message_id, fields in await self._own_pending(stream):
                present.add((stream, message_id))
                if self._clock.monotonic() < self._retry_at.get((stream, message_id), 0.0):
                    continue
                await self._handle(stream, message_id, fields)
                seen += 1
        # Forget retries for entries no longer ours (acked, or claimed by another consumer).
        self._retry_at = {key: due for key, due in self._retry_at.items() if key in present}
        self._maybe_pending = bool(present)
        return seen

    async def _own_pending(self, stream: str) -> list[Entry]:
        pending: list[Entry] = []
        start = "0"
        while True:
            reply = await self._redis.xreadgroup(
                self.group, self.consumer, {stream: start}, count=self._batch_size
            )
            entries = [entry for _, batch in _by_stream(reply) for entry in batch]
            pending.extend(entries)
            if len(entries) < self._batch_size:
                return pending
            start = entries[-1][0]

    async def _handle(self, stream: str, message_id: str, fields: Mapping[Any, Any] | None) -> None:
        if not fields:
            # The entry was trimmed away while pending: nothing left to handle.
            await self._ack(stream, message_id)
            return
        try:
            event = decode(fields)
        except (ValidationError, ValueError) as exc:
            await self._park(stream, message_id, fields, f"undecodable entry: {exc}", attempts=0)
            return
        if await self._already_handled(event.id):
            await self._ack(stream, message_id)
            return
        try:
            await self._run(self._handlers[stream], event)
        except Exception as exc:
            await self._failed(stream, message_id, fields, event, exc)
            return
        await self._processed.update_one(
            {"_id": event.id},
            {"$set": {"status": DONE, "type": event.type, "handled_at": self._clock.now()}},
            upsert=True,
        )
        await self._ack(stream, message_id)

    async def _run(self, handler: Handler, event: Event) -> None:
        # The handling is a span of the publisher's trace, so a trace follows its events.
        token = otel_context.attach(propagate.extract(event.trace))
        try:
            with self._tracer.start_as_current_span(
                f"consume {event.type}",
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "redis",
                    "messaging.destination.name": event.type,
                    "messaging.message.id": event.id,
                    "messaging.consumer.group.name": self.group,
                },
            ):
                await handler(event)
        finally:
            otel_context.detach(token)

    async def _already_handled(self, event_id: str) -> bool:
        record = await self._processed.find_one({"_id": event_id}, {"status": 1})
        return record is not None and record.get("status") in (DONE, DEAD)

    async def _failed(
        self,
        stream: str,
        message_id: str,
        fields: Mapping[Any, Any],
        event: Event,
        exc: Exception,
    ) -> None:
        error = f"{type(exc).__name__}: {exc}"
        record = await self._processed.find_one_and_update(
            {"_id": event.id},
            {
                "$inc": {"attempts": 1},
                "$set": {"status": FAILING, "type": event.type, "last_error": error},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        attempts = int(record["attempts"])
        log.warning(
            "event handler failed",
            extra={"event_id": event.id, "stream": stream, "attempt": attempts, "error": error},
        )
        if attempts < self._max_attempts:
            self._retry_at[(stream, message_id)] = self._clock.monotonic() + self._retry.delay(
                attempts
            )
            self._maybe_pending = True
            return
        trace = "".join(traceback.format_exception(exc))
        await self._park(stream, message_id, fields, error, attempts=attempts, trace=trace)
        await self._processed.update_one({"_id": event.id}, {"$set": {"status": DEAD}})

    async def _park(
        self,
        stream: str,
        message_id: str,
        fields: Mapping[Any, Any],
        error: str,
        *,
        attempts: int,
        trace: str = "",
    ) -> None:
        raw = fields.get(EVENT_FIELD, fields.get(EVENT_FIELD.encode(), b""))
        await self._redis.xadd(
            dead_letter_stream(self.group),
            {
                EVENT_FIELD: raw,
                "stream": stream,
                "message_id": message_id,
                "group": self.group,
                "error": error,
                "traceback": trace,
                "attempts": attempts,
                "time": self._clock.now().isoformat(),
            },
        )
        await self._ack(stream, message_id)

    async def _ack(self, stream: str, message_id: str) -> None:
        await self._redis.xack(stream, self.group, message_id)
        self._retry_at.pop((stream, message_id), None)


def _by_stream(reply: Any) -> list[tuple[str, list[Entry]]]:
    if not reply:
        return []
    if isinstance(reply, dict):
        # RESP3 answers a map of stream -> [entries], one list deeper than RESP2's pairs.
        pairs = [
            (stream, [e for batch in nested for e in batch]) for stream, nested in reply.items()
        ]
    else:
        pairs = reply
    return [
        (text(stream), [(text(message_id), fields) for message_id, fields in entries or []])
        for stream, entries in pairs
    ]
