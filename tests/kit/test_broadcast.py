"""The broadcaster: one pub/sub connection for all readers, bounded inboxes, losses told."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from estore.kit.events import Broadcaster, Inbox, InboxClosed, Notification
from estore.kit.events.broadcast import LOST, OVERFLOW

pytestmark = pytest.mark.redis


async def connections(redis: Redis) -> int:
    return len(await redis.client_list())


async def test_many_readers_of_many_channels_share_one_connection(redis: Redis) -> None:
    broadcaster = Broadcaster(redis)
    before = await connections(redis)
    async with AsyncExitStack() as stack:
        inboxes = [
            await stack.enter_async_context(broadcaster.subscribe(f"chat:{n % 3}"))
            for n in range(30)
        ]
        assert await connections(redis) == before + 1
        assert await redis.pubsub_numsub("chat:0", "chat:1", "chat:2") == [
            (b"chat:0", 1),
            (b"chat:1", 1),
            (b"chat:2", 1),
        ]
        assert await broadcaster.publish("chat:1", {"body": "hello"}) == 1
        readers = [inbox for n, inbox in enumerate(inboxes) if n % 3 == 1]
        for inbox in readers:
            assert await inbox.get() == Notification("chat:1", {"body": "hello"})
        assert broadcaster.readers("chat:1") == len(readers) == 10


async def test_a_slow_reader_is_cut_off_without_holding_up_the_others(redis: Redis) -> None:
    broadcaster = Broadcaster(redis, inbox_limit=3)
    async with broadcaster.subscribe("chat") as slow, broadcaster.subscribe("chat") as fast:
        received = []
        for n in range(10):
            await broadcaster.publish("chat", n)
            received.append((await fast.get()).message)
        assert received == list(range(10))
        assert await slow.wait_closed() == OVERFLOW
        with pytest.raises(InboxClosed):
            await slow.get()


def test_an_inbox_that_overflows_closes_instead_of_growing() -> None:
    inbox = Inbox("chat", limit=2)
    for n in range(3):
        inbox.offer(Notification("chat", n))
    assert inbox.closed == OVERFLOW


async def test_a_channel_whose_last_reader_left_can_be_read_again(redis: Redis) -> None:
    broadcaster = Broadcaster(redis)
    async with broadcaster.subscribe("other"):
        async with broadcaster.subscribe("chat"):
            pass
        assert broadcaster.readers("chat") == 0
        async with broadcaster.subscribe("chat") as again:
            await broadcaster.publish("chat", "back")
            assert (await again.get()).message == "back"
    async with broadcaster.subscribe("chat") as after_reconnecting:
        await broadcaster.publish("chat", "still")
        assert (await after_reconnecting.get()).message == "still"


class CuttableRedis:
    """A Redis whose pub/sub connections can be cut, as a network fault would cut them.

    (fakeredis does not wake a reader blocked on a connection that CLIENT KILL closed.)
    Once `cut` is set, the next read on a pub/sub connection fails.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.cut = False

    def pubsub(self) -> Any:
        return CuttablePubSub(self._redis.pubsub(), self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._redis, name)


class CuttablePubSub:
    def __init__(self, pubsub: Any, redis: CuttableRedis) -> None:
        self._pubsub = pubsub
        self._redis = redis

    async def get_message(self, **options: Any) -> Any:
        message = await self._pubsub.get_message(**options)
        if self._redis.cut:
            raise RedisConnectionError("connection cut")
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pubsub, name)


async def test_a_lost_connection_closes_every_inbox_and_the_next_reader_reconnects(
    redis: Redis,
) -> None:
    cuttable = CuttableRedis(redis)
    broadcaster = Broadcaster(cast(Redis, cuttable))
    async with broadcaster.subscribe("a") as first, broadcaster.subscribe("b") as second:
        cuttable.cut = True
        await broadcaster.publish("a", "lost with the connection")  # wakes the reader
        assert await asyncio.wait_for(first.wait_closed(), 10) == LOST
        assert await asyncio.wait_for(second.wait_closed(), 10) == LOST
    cuttable.cut = False
    async with broadcaster.subscribe("a") as fresh:
        await broadcaster.publish("a", "again")
        assert (await fresh.get()).message == "again"


async def test_a_subscription_redis_refuses_raises_a_connection_error() -> None:
    nothing_listens = Redis(port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    broadcaster = Broadcaster(nothing_listens)
    with pytest.raises(ConnectionError, match="chat"):
        async with broadcaster.subscribe("chat"):
            pass
    assert broadcaster.readers("chat") == 0
