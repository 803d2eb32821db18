"""The chat hub, inboxes and the sequencer: order, no duplicates, slow readers cut off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import fakeredis
import pytest
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clock import FakeClock
from estore.kit.events import EventBus
from estore.kit.events.broadcast import LOST, OVERFLOW
from estore.kit.identity import Role
from estore.services.ticket.chat import ChatHub, Frame, Sequencer, within
from estore.services.ticket.models import MessageView

pytestmark = pytest.mark.redis


def frame(seq: int) -> Frame:
    return {"type": "message", "seq": seq}


def message(ticket_id: str, seq: int) -> MessageView:
    return MessageView(
        ticket_id=ticket_id,
        seq=seq,
        author_id="alice",
        author_role=Role.CUSTOMER,
        body=f"message {seq}",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def seqs(frames: list[Frame]) -> list[int]:
    return [f["seq"] for f in frames]


def test_the_sequencer_passes_messages_in_order_and_drops_repeats() -> None:
    order = Sequencer(after=2)
    assert seqs(order.accept(frame(2))) == []
    assert seqs(order.accept(frame(3))) == [3]
    assert seqs(order.accept(frame(3))) == []
    assert seqs(order.accept(frame(4))) == [4]


def test_the_sequencer_holds_a_later_message_until_the_gap_fills() -> None:
    order = Sequencer(after=0)
    assert seqs(order.accept(frame(2))) == []
    assert order.waiting and order.gap == (0, 1)
    assert seqs(order.accept(frame(1))) == [1, 2]
    assert not order.waiting


def test_the_sequencer_fills_a_gap_from_the_store_and_skips_what_never_came() -> None:
    order = Sequencer(after=0)
    order.accept(frame(4))
    assert seqs(order.fill([frame(1), frame(3)])) == [1, 3, 4]
    assert order.last == 4
    # The skipped number turns up late after all: delivered once, then never again.
    assert seqs(order.accept(frame(2))) == [2]
    assert seqs(order.accept(frame(2))) == []


async def test_within_gives_up_when_the_fake_clock_passes_the_limit() -> None:
    clock = FakeClock()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(within(clock, 5, never))
    for _ in range(3):  # let the waiter start its timer before time moves
        await asyncio.sleep(0)
    await clock.advance(4)
    assert not waiting.done()
    await clock.advance(1)
    with pytest.raises(TimeoutError):
        await waiting
    assert never.cancelled()


def two_hubs(limit: int = 4) -> tuple[ChatHub, ChatHub, EventBus]:
    """Two service instances over one Redis (and the first one's bus)."""
    server = fakeredis.FakeServer()
    clock = FakeClock()
    buses = [
        EventBus(
            "ticket",
            fakeredis.aioredis.FakeRedis(server=server),
            AsyncMongoMockClient()["ticket_db"],
            clock,
        )
        for _ in range(2)
    ]
    return ChatHub(buses[0], inbox_limit=limit), ChatHub(buses[1], inbox_limit=limit), buses[0]


async def test_a_message_published_on_one_instance_reaches_readers_on_both() -> None:
    one, two, _ = two_hubs()
    async with one.join("t1") as here, two.join("t1") as there, two.join("t2") as elsewhere:
        await one.publish(message("t1", 1))
        assert (await here.get()).message["seq"] == 1
        assert (await there.get()).message["seq"] == 1
        await two.publish(message("t2", 7))
        assert (await elsewhere.get()).message["seq"] == 7


async def test_a_slow_reader_is_cut_off_while_the_others_get_everything() -> None:
    one, two, _ = two_hubs(limit=3)
    async with one.join("t1") as slow, one.join("t1") as fast:
        received = []
        for seq in range(1, 11):
            await two.publish(message("t1", seq))
            received.append((await fast.get()).message["seq"])
        assert received == list(range(1, 11))
        assert await slow.wait_closed() == OVERFLOW


async def test_the_last_reader_leaving_ends_the_subscription() -> None:
    hub, _, bus = two_hubs()
    async with hub.join("t1"):
        async with hub.join("t1"):
            assert bus.listeners("ticket:t1") == 2
        assert bus.listeners("ticket:t1") == 1
    assert bus.listeners("ticket:t1") == 0


async def test_closing_the_hub_tells_every_connection_to_reconnect() -> None:
    hub, _, _ = two_hubs()
    async with hub.join("t1") as first, hub.join("t2") as second:
        await hub.close()
        assert await first.wait_closed() == await second.wait_closed() == LOST
