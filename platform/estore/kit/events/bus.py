"""The event bus a service is given: publish through its outbox, consume with its group.

Also carries live notifications over pub/sub (`notify`, `listen`) for what may be lost:
order-status pushes and chat, not domain events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from opentelemetry.trace import Tracer
from pymongo.errors import PyMongoError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from estore.kit.clock import Clock, SystemClock
from estore.kit.events.broadcast import Broadcaster, Inbox
from estore.kit.events.catalog import Payload
from estore.kit.events.consumer import GroupConsumer, Handler, dead_letter_stream
from estore.kit.events.model import Backoff, Event, new_event
from estore.kit.events.outbox import Outbox
from estore.kit.ids import new_id

log = logging.getLogger(__name__)

# Store outages: the loops wait them out; anything else is a bug and is logged as one.
STORE_ERRORS = (RedisError, PyMongoError, OSError)

HANDLER_RETRY = Backoff(base=1.0, cap=60.0)
# How the background loops wait out a Redis or Mongo that is away.
OUTAGE_RETRY = Backoff(base=0.5, cap=30.0)


@dataclass(frozen=True)
class EventBusStats:
    outbox_waiting: int | None
    dead_lettered: int | None
    relay_failing: bool


class EventBus:
    """One service's view of the event system.

    `service` names the producer and the consumer group; `db` is the service's own database
    (it holds `outbox` and `processed_events`).
    """

    def __init__(
        self,
        service: str,
        redis: Redis,
        db: AsyncIOMotorDatabase[Any],
        clock: Clock,
        *,
        consumer: str | None = None,
        max_attempts: int = 5,
        retry: Backoff = HANDLER_RETRY,
        outage_retry: Backoff = OUTAGE_RETRY,
        relay_interval: float = 1.0,
        poll_interval: float = 0.05,
        max_poll_interval: float = 0.5,
        claim_idle: float = 60.0,
        batch_size: int = 100,
        stream_maxlen: int | None = None,
        outbox_retention: float = 3600.0,
        broadcaster: Broadcaster | None = None,
        processed_retention: float = 7 * 24 * 3600.0,
        tracer: Tracer | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.service = service
        self._redis = redis
        # Shared by every bus in the process, so all their listeners share one connection.
        self._broadcaster = broadcaster or Broadcaster(redis)
        self._clock = clock
        # A blocking XREADGROUP waits on the system clock (fakeredis's too, since 2.x blocks
        # for real). Under an injected clock the loop sleeps the wait on that clock instead:
        # mixing the two let real time decide when a simulated consumer saw its events.
        self._block_reads = isinstance(clock, SystemClock)
        self._handlers: dict[str, Handler] = {}
        self._outbox = Outbox(
            db,
            redis,
            clock,
            batch_size=batch_size,
            retention=outbox_retention,
            stream_maxlen=stream_maxlen,
        )
        self._consumer = GroupConsumer(
            group=service,
            consumer=consumer or f"{service}-{new_id()[:12]}",
            redis=redis,
            db=db,
            clock=clock,
            handlers=self._handlers,
            max_attempts=max_attempts,
            retry=retry,
            claim_idle=claim_idle,
            batch_size=batch_size,
            tracer=tracer,
        )
        self._outage_retry = outage_retry
        self._processed_retention = processed_retention
        self._relay_interval = relay_interval
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self._claim_every = claim_idle / 2
        self._last_claim: float | None = None
        self._relay_failing = False
        self._tasks: list[asyncio.Task[None]] = []

    # --- publishing -------------------------------------------------------------------------

    async def publish(
        self,
        name: str,
        data: Mapping[str, Any],
        *,
        version: int = 1,
    ) -> Event:
        """Record the event in the outbox, then try to put it on its stream at once.

        Once this returns the event is durable even if Redis is down: it waits in the outbox.
        """
        now = self._clock.now()
        event = new_event(name, data, producer=self.service, time=now, version=version)
        await self._outbox.add(event)
        # While Redis is known to be away, publishers do not wait on it; the relay loop will.
        if not self._relay_failing:
            await self.relay()
        return event

    async def emit(self, payload: Payload) -> Event:
        """Publish one of the catalog's events under its own name."""
        return await self.publish(payload.NAME, payload.data())

    async def relay(self) -> int:
        """Move the outbox to Redis now; returns how many entries moved (0 if Redis is away)."""
        try:
            moved = await self._outbox.relay()
        except STORE_ERRORS as exc:
            self._relay_failing = True
            log.warning("outbox relay failed; events wait in the outbox", extra={"error": str(exc)})
            return 0
        self._relay_failing = False
        return moved

    # --- consuming --------------------------------------------------------------------------

    def subscribe(self, name: str, handler: Handler) -> None:
        """Run `handler` for every `name` event; one handler per name, set before `start`."""
        if self._tasks:
            raise RuntimeError("subscribe before start(): the consumer reads a fixed set")
        if name in self._handlers:
            raise ValueError(f"{name!r} already has a handler in {self.service}")
        self._handlers[name] = handler

    async def run_once(self) -> int:
        """Relay the outbox, reclaim crashed consumers' entries and handle what is due.

        Returns how much moved or was handled; Redis or Mongo being away counts as nothing.
        """
        done = await self.relay()
        if not self._handlers:
            return done
        try:
            done += await self._consumer.reclaim()
            done += await self._consumer.consume()
        except STORE_ERRORS as exc:
            log.warning("event consumer could not read", extra={"error": str(exc)})
        return done

    async def drain(self, max_rounds: int = 1000) -> int:
        """Run `run_once` until nothing is left to do now (retries not yet due stay pending)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            if done == 0:
                return total
            total += done
        raise RuntimeError(f"event bus still busy after {max_rounds} rounds")

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the relay loop and, if anything is subscribed, the consumer loop."""
        if self._tasks:
            return
        # The stores may have been emptied since the last start (tests, a Redis restart).
        self._consumer.forget_groups()
        with contextlib.suppress(*STORE_ERRORS):
            # A Mongo that is away now gets its indexes at the next start; nothing depends on
            # them for correctness.
            await self._outbox.ensure_indexes()
            await self._consumer.ensure_indexes(self._processed_retention)
        self._tasks.append(asyncio.create_task(self._relay_loop(), name=f"{self.service}-relay"))
        if self._handlers:
            self._tasks.append(
                asyncio.create_task(self._consume_loop(), name=f"{self.service}-consume")
            )

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            # A cancel can be swallowed inside a Redis client's own timeout handling (seen
            # with fakeredis on 3.11), so cancel until the task has really ended.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)

    async def stats(self) -> EventBusStats:
        """Outbox backlog and dead letters: what the bus has not delivered (tests read it).

        A count its store cannot give right now (the store is away) is None.
        """
        return EventBusStats(
            outbox_waiting=await _or_none(self._outbox.waiting()),
            dead_lettered=await _or_none(self._redis.xlen(dead_letter_stream(self.service))),
            relay_failing=self._relay_failing,
        )

    async def _relay_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self._outbox.relay()
                self._relay_failing = False
                failures = 0
                await self._outbox.purge_if_due()
            except Exception as exc:
                self._relay_failing = True
                failures += 1
                _log_loop_error("outbox relay", exc, failures)
            delay = self._outage_retry.delay(failures) if failures else self._relay_interval
            await self._clock.sleep(delay)

    async def _consume_loop(self) -> None:
        wait = self._poll_interval
        failures = 0
        while True:
            started = self._clock.monotonic()
            try:
                block = wait if self._block_reads else None
                seen = await self._reclaim_if_due() + await self._consumer.consume(block)
                failures = 0
            except Exception as exc:
                failures += 1
                _log_loop_error("event consumer", exc, failures)
                await self._clock.sleep(self._outage_retry.delay(failures))
                continue
            if seen:
                wait = self._poll_interval
                continue
            # A blocked XREADGROUP spent (part of) `wait` already; an unblocked one none, so the
            # rest of the wait is slept here. Idle waits grow so an idle service costs little.
            await self._clock.sleep(wait - (self._clock.monotonic() - started))
            wait = min(wait * 2, self._max_poll_interval)

    async def _reclaim_if_due(self) -> int:
        now = self._clock.monotonic()
        if self._last_claim is not None and now - self._last_claim < self._claim_every:
            return 0
        self._last_claim = now
        return await self._consumer.reclaim()

    # --- live notifications (pub/sub: no history, no retries) -------------------------------

    async def notify(self, channel: str, message: Any) -> int:
        """Send a JSON message to whoever listens now; returns how many connections got it."""
        return await self._broadcaster.publish(channel, message)

    def listen(self, channel: str, limit: int | None = None) -> AbstractAsyncContextManager[Inbox]:
        """Subscribe on entry (nothing sent after entering is missed); the inbox holds at most
        `limit` unread messages before it closes."""
        return self._broadcaster.subscribe(channel, limit)

    def listeners(self, channel: str) -> int:
        """How many inboxes in this process read `channel`."""
        return self._broadcaster.readers(channel)


async def _or_none(count: Awaitable[Any]) -> int | None:
    try:
        return int(await count)
    except STORE_ERRORS:
        return None


def _log_loop_error(loop: str, exc: Exception, failures: int) -> None:
    if isinstance(exc, STORE_ERRORS):
        log.warning("%s waiting for its stores", loop, extra={"error": str(exc), "n": failures})
    else:
        log.exception("%s failed", loop, exc_info=exc)
