"""Live pub/sub for a whole process: one Redis connection, channels shared by their readers.

After encode/broadcaster's design: the first reader of a channel subscribes the connection to
it and the last one out unsubscribes; one task reads the connection and hands each message to
every reader of its channel. Unlike that library, each reader's inbox is bounded (a reader
that falls behind is cut off, the others are never held up), subscribing returns only once
Redis has confirmed it (so nothing published afterwards is missed), and a lost connection
ends every inbox at once, so readers know they may have missed something.

Nothing here is durable: what must not be lost goes through the event streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from estore.kit.events.model import text

log = logging.getLogger(__name__)

OVERFLOW = "overflow"
LOST = "lost"
DEFAULT_INBOX_LIMIT = 100


@dataclass(frozen=True)
class Notification:
    channel: str
    message: Any


class InboxClosed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChannelUnavailable(ConnectionError):
    """Redis did not take the subscription; nothing is being received."""


class Inbox:
    """Notifications waiting for one reader, bounded: offering never waits.

    A reader that lets `limit` notifications pile up is too slow to follow: its inbox closes
    (reason OVERFLOW) instead of making the connection's reader, or anyone else, wait.
    """

    def __init__(self, channel: str, limit: int) -> None:
        self.channel = channel
        self._items: deque[Notification] = deque()
        self._limit = limit
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self.closed: str | None = None

    def offer(self, notification: Notification) -> None:
        if self.closed is not None:
            return
        if len(self._items) >= self._limit:
            self.close(OVERFLOW)
            return
        self._items.append(notification)
        self._wake.set()

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
        self._wake.set()
        self._closed.set()

    async def wait_closed(self) -> str:
        """Wait until the inbox closes; returns why."""
        await self._closed.wait()
        assert self.closed is not None
        return self.closed

    async def get(self) -> Notification:
        while not self._items:
            if self.closed is not None:
                raise InboxClosed(self.closed)
            self._wake.clear()
            await self._wake.wait()
        if self.closed is not None:
            raise InboxClosed(self.closed)
        return self._items.popleft()

    def __aiter__(self) -> Inbox:
        return self

    async def __anext__(self) -> Notification:
        return await self.get()


@dataclass
class _Channel:
    confirmed: asyncio.Future[None]
    inboxes: set[Inbox] = field(default_factory=set)


class Broadcaster:
    """Publishes to and reads from Redis pub/sub for every service in the process.

    The connection is opened for the first channel and closed with the last.
    """

    def __init__(self, redis: Redis, inbox_limit: int = DEFAULT_INBOX_LIMIT) -> None:
        self._redis = redis
        self._inbox_limit = inbox_limit
        self._channels: dict[str, _Channel] = {}
        # SUBSCRIBEs sent and not yet confirmed, per channel, in the order they were sent.
        self._unconfirmed: dict[str, deque[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        # Subscribing and unsubscribing take turns: the channel table and the connection
        # must agree.
        self._lock = asyncio.Lock()

    async def publish(self, channel: str, message: Any) -> int:
        """Send a JSON message to whoever listens now; returns how many connections got it."""
        return int(await self._redis.publish(channel, json.dumps(message)))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, limit: int | None = None) -> AsyncIterator[Inbox]:
        """An inbox receiving every message published on `channel` from the moment it yields."""
        inbox = Inbox(channel, limit or self._inbox_limit)
        confirmed = await self._join(inbox)
        try:
            try:
                await asyncio.shield(confirmed)
            except ConnectionError as exc:
                raise ChannelUnavailable(f"{channel}: {exc}") from exc
            yield inbox
        finally:
            await self._leave(inbox)

    def readers(self, channel: str) -> int:
        found = self._channels.get(channel)
        return len(found.inboxes) if found else 0

    async def close(self) -> None:
        """End every inbox and drop the connection (the process is stopping)."""
        async with self._lock:
            await self._drop(ConnectionError("the broadcaster closed"))

    async def _join(self, inbox: Inbox) -> asyncio.Future[None]:
        async with self._lock:
            known = self._channels.get(inbox.channel)
            if known is not None:
                known.inboxes.add(inbox)
                return known.confirmed
            confirmed = asyncio.get_running_loop().create_future()
            self._channels[inbox.channel] = _Channel(confirmed, {inbox})
            self._unconfirmed.setdefault(inbox.channel, deque()).append(confirmed)
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
            pubsub = self._pubsub
            try:
                await pubsub.subscribe(inbox.channel)
            except Exception as exc:
                if pubsub is self._pubsub:
                    await self._drop(exc)
                raise ChannelUnavailable(f"{inbox.channel}: {exc}") from exc
            # A connection lost meanwhile has failed `confirmed` already.
            if self._reader is None and pubsub is self._pubsub:
                # Only now: redis-py refuses to read a pub/sub that never subscribed.
                self._reader = asyncio.create_task(self._read(pubsub), name="broadcaster")
            return confirmed

    async def _leave(self, inbox: Inbox) -> None:
        async with self._lock:
            known = self._channels.get(inbox.channel)
            if known is None or inbox not in known.inboxes:
                return  # the connection was lost meanwhile, and the table emptied with it
            known.inboxes.discard(inbox)
            if known.inboxes:
                return
            del self._channels[inbox.channel]
            if not self._channels:
                await self._drop(ConnectionError("no readers left"))
                return
            assert self._pubsub is not None
            try:
                await self._pubsub.unsubscribe(inbox.channel)
            except Exception as exc:
                # The connection is going; its reader ends the other channels' inboxes.
                log.warning("pub/sub unsubscribe failed", extra={"error": str(exc)})

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._handle(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if pubsub is self._pubsub:
                log.warning("pub/sub connection lost", extra={"error": str(exc)})
                self._lose(exc)
                self._pubsub, self._reader = None, None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _handle(self, message: dict[str, Any]) -> None:
        channel = text(message["channel"]) if message.get("channel") is not None else ""
        if message["type"] == "message":
            known = self._channels.get(channel)
            if known is None:
                return
            notification = Notification(channel, json.loads(message["data"]))
            for inbox in list(known.inboxes):
                inbox.offer(notification)
        elif message["type"] == "subscribe":
            waiting = self._unconfirmed.get(channel)
            # None waiting: redis-py resubscribed by itself after reconnecting.
            if waiting:
                confirmed = waiting.popleft()
                if not confirmed.done():
                    confirmed.set_result(None)
                if not waiting:
                    del self._unconfirmed[channel]

    def _lose(self, exc: BaseException) -> None:
        """Everyone reading learns at once that messages may have been missed."""
        channels, self._channels = self._channels, {}
        unconfirmed, self._unconfirmed = self._unconfirmed, {}
        for waiting in unconfirmed.values():
            for confirmed in waiting:
                if not confirmed.done():
                    confirmed.set_exception(ConnectionError(str(exc)))
                    # Marked as seen: a joiner that gave up must not leave a loud warning.
                    confirmed.exception()
        for known in channels.values():
            for inbox in known.inboxes:
                inbox.close(LOST)

    async def _drop(self, exc: BaseException) -> None:
        self._lose(exc)
        pubsub, reader = self._pubsub, self._reader
        self._pubsub, self._reader = None, None
        # Closed before the reader is stopped: fakeredis hangs a read cancelled mid-way.
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
