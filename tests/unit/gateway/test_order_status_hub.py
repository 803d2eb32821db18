"""The gateway's order-status listener: start-up never waits on Redis, and it recovers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

from estore.gateway.subscriptions import OrderStatusHub
from estore.kit.clock import FakeClock
from estore.kit.events import EventBus


class FlakyBus:
    """A bus whose Redis is away until `back` is set; then it listens quietly."""

    def __init__(self) -> None:
        self.back = asyncio.Event()
        self.attempts = 0

    @contextlib.asynccontextmanager
    async def listen(self, *channels: str) -> AsyncIterator[AsyncIterator[Any]]:
        self.attempts += 1
        if not self.back.is_set():
            raise ConnectionError("redis is away")
        yield self._nothing()

    async def _nothing(self) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield  # pragma: no cover - never reached


async def test_start_returns_while_redis_is_away_and_listening_follows_when_it_returns() -> None:
    bus, clock = FlakyBus(), FakeClock()
    hub = OrderStatusHub(cast(EventBus, bus), clock)
    try:
        await asyncio.wait_for(hub.start(), timeout=5)
        assert not hub.listening and bus.attempts == 1
        bus.back.set()
        while not hub.listening:
            await clock.advance(1)
        assert bus.attempts >= 2
    finally:
        await hub.stop()
