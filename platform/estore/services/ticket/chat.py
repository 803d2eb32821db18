"""The live chat hub: each connection reads its ticket's channel through the kit's broadcaster.

Messages are stored before they are published (see TicketService.post_message), so pub/sub
only has to be fast, not reliable: a connection that misses something reconnects with
`?after=<last seq>` and reads it from the store. Every instance of the service subscribes to
the same Redis channel, so a customer on one instance and an agent on another share a chat.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from estore.kit.clock import Clock, timeout_scope
from estore.kit.events import EventBus, Inbox
from estore.kit.events.broadcast import LOST
from estore.services.ticket.models import MessageView

T = TypeVar("T")
Frame = dict[str, Any]


def channel(ticket_id: str) -> str:
    return f"ticket:{ticket_id}"


def message_frame(message: MessageView) -> Frame:
    return {"type": "message", **message.model_dump(mode="json")}


class ChatHub:
    """Joins each connection to its ticket's channel on the process's one pub/sub connection."""

    def __init__(self, bus: EventBus, inbox_limit: int) -> None:
        self._bus = bus
        self._inbox_limit = inbox_limit
        self._open: set[Inbox] = set()

    async def publish(self, message: MessageView) -> None:
        await self._bus.notify(channel(message.ticket_id), message_frame(message))

    @contextlib.asynccontextmanager
    async def join(self, ticket_id: str) -> AsyncIterator[Inbox]:
        """An inbox receiving every frame published for the ticket from the moment this yields.

        Raises ConnectionError when the channel cannot be subscribed.
        """
        async with self._bus.listen(channel(ticket_id), self._inbox_limit) as inbox:
            self._open.add(inbox)
            try:
                yield inbox
            finally:
                self._open.discard(inbox)

    async def close(self) -> None:
        """The service is stopping: every connection is told to reconnect."""
        for inbox in list(self._open):
            inbox.close(LOST)


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
