"""The live chat hub: one pub/sub subscription per ticket per instance, fanned out to inboxes.

Messages are stored before they are published (see TicketService.post_message), so pub/sub
only has to be fast, not reliable: a connection that misses something reconnects with
`?after=<last seq>` and reads it from the store. Every instance of the service subscribes to
the same Redis channel, so a customer on one instance and an agent on another share a chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from estore.kit.clock import Clock, timeout_scope
from estore.kit.events import EventBus
from estore.services.ticket.models import MessageView

log = logging.getLogger(__name__)

T = TypeVar("T")
Frame = dict[str, Any]


def channel(ticket_id: str) -> str:
    return f"ticket:{ticket_id}"


def message_frame(message: MessageView) -> Frame:
    return {"type": "message", **message.model_dump(mode="json")}


class InboxClosed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


OVERFLOW = "overflow"
HUB_LOST = "hub_lost"


class Inbox:
    """Frames waiting for one connection, bounded: offering never waits.

    A connection that lets `limit` frames pile up is too slow to follow the chat: its inbox
    closes (reason OVERFLOW) instead of making the publisher, or anyone else, wait.
    """

    def __init__(self, limit: int) -> None:
        self._items: deque[Frame] = deque()
        self._limit = limit
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self.closed: str | None = None

    def offer(self, frame: Frame) -> None:
        if self.closed is not None:
            return
        if len(self._items) >= self._limit:
            self.close(OVERFLOW)
            return
        self._items.append(frame)
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

    async def get(self) -> Frame:
        while not self._items:
            if self.closed is not None:
                raise InboxClosed(self.closed)
            self._wake.clear()
            await self._wake.wait()
        if self.closed is not None:
            raise InboxClosed(self.closed)
        return self._items.popleft()


@dataclass
class _Room:
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    inboxes: set[Inbox] = field(default_factory=set)
    failed: BaseException | None = None
    task: asyncio.Task[None] | None = None


class ChatHub:
    """Fans each ticket's channel out to the connections this instance holds for it."""

    def __init__(self, bus: EventBus, inbox_limit: int) -> None:
        self._bus = bus
        self._inbox_limit = inbox_limit
        self._rooms: dict[str, _Room] = {}

    async def publish(self, message: MessageView) -> None:
        await self._bus.notify(channel(message.ticket_id), message_frame(message))

    @contextlib.asynccontextmanager
    async def join(self, ticket_id: str) -> AsyncIterator[Inbox]:
        """An inbox receiving every frame published for the ticket from the moment this yields."""
        room = self._rooms.get(ticket_id)
        if room is None:
            room = self._rooms[ticket_id] = _Room()
            room.task = asyncio.create_task(self._pump(ticket_id, room), name=f"chat-{ticket_id}")
        inbox = Inbox(self._inbox_limit)
        room.inboxes.add(inbox)
        try:
            await room.ready.wait()
            if room.failed is not None:
                raise ConnectionError(f"chat channel unavailable: {room.failed}")
            yield inbox
        finally:
            room.inboxes.discard(inbox)
            if not room.inboxes and self._rooms.get(ticket_id) is room:
                del self._rooms[ticket_id]
                assert room.task is not None
                room.task.cancel()

    def rooms(self) -> int:
        return len(self._rooms)

    async def close(self) -> None:
        rooms, self._rooms = list(self._rooms.values()), {}
        for room in rooms:
            if room.task is not None:
                room.task.cancel()
            for inbox in room.inboxes:
                inbox.close(HUB_LOST)

    async def _pump(self, ticket_id: str, room: _Room) -> None:
        try:
            async with self._bus.listen(channel(ticket_id)) as notes:
                room.ready.set()
                async for note in notes:
                    for inbox in list(room.inboxes):
                        inbox.offer(note.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("chat channel lost", extra={"ticket": ticket_id, "error": str(exc)})
            room.failed = exc
        # Whatever ended the subscription, its connections can no longer trust what they get.
        room.ready.set()
        if self._rooms.get(ticket_id) is room:
            del self._rooms[ticket_id]
        for inbox in room.inboxes:
            inbox.close(HUB_LOST)


class Sequencer:
    """Hands one connection a ticket's messages in sequence order, each exactly once.

    Sequence numbers are taken before messages are stored, so a message may be published
    while an earlier number is still on its way to the store (or was taken by a writer that
    then died). Later messages are held back until the gap fills; if it does not fill in
    time, the caller asks the store (`fill`) and moves past what is still missing. A skipped
    message that turns up later is still delivered, once.
    """

    def __init__(self, after: int) -> None:
        self.last = after
        self._held: dict[int, Frame] = {}
        self._skipped: set[int] = set()

    @property
    def waiting(self) -> bool:
        return bool(self._held)

    @property
    def gap(self) -> tuple[int, int]:
        """The (after, upto] range the held messages wait behind."""
        return self.last, min(self._held) - 1

    def accept(self, frame: Frame) -> list[Frame]:
        seq = int(frame["seq"])
        if seq in self._skipped:
            self._skipped.discard(seq)
            return [frame]
        if seq <= self.last or seq in self._held:
            return []
        self._held[seq] = frame
        return self._release()

    def fill(self, found: list[Frame]) -> list[Frame]:
        """After the grace time: take what the store has, then skip the numbers still missing."""
        ready: list[Frame] = []
        for frame in found:
            ready += self.accept(frame)
        if self._held:
            first = min(self._held)
            self._skipped.update(range(self.last + 1, first))
            self.last = first - 1
            ready += self._release()
        return ready

    def _release(self) -> list[Frame]:
        ready = []
        while self.last + 1 in self._held:
            self.last += 1
            ready.append(self._held.pop(self.last))
        return ready


async def within(clock: Clock, seconds: float | None, work: Awaitable[T]) -> T:
    """Await `work`, raising TimeoutError after `seconds` on `clock` (None: no limit)."""
    if seconds is None:
        return await work
    async with timeout_scope(clock, seconds):
        return await work
