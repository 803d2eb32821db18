"""Event bus behaviour: outbox durability, consumer groups, retries, reclaim, notifications."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockClient
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from estore.kit.clock import FakeClock
from estore.kit.events import Backoff, Event, EventBus, dead_letter_stream

pytestmark = pytest.mark.redis

ORDER_CREATED = "order:created"


class Crash(BaseException):
    """The process dies here: nothing after it runs, no handler sees it as a failure."""


class FaultyRedis:
    """A Redis client whose commands can be made to fail (outage) or to crash the process.

    It forwards everything else, and counts the commands it was asked to run.
    """

    COMMANDS = frozenset(
        {"xadd", "xreadgroup", "xack", "xautoclaim", "xgroup_create", "xlen", "publish"}
    )

    def __init__(self, inner: Redis) -> None:
        self._inner = inner
        self.down = False
        self.crash_on: set[str] = set()
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        command = getattr(self._inner, name)
        if name not in self.COMMANDS:
            return command

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name in self.crash_on:
                self.crash_on.discard(name)
                raise Crash(name)
            if self.down:
                raise RedisConnectionError("connection refused")
            return await command(*args, **kwargs)

        return call


class LoopClock(FakeClock):
    """A fake clock that knows when the background loops are all asleep, waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self._due: dict[asyncio.Task[Any] | None, float] = {}

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        self._due[task] = self.monotonic() + seconds
        try:
            await super().sleep(seconds)
        finally:
            self._due.pop(task, None)

    async def settle(self, loops: int) -> None:
        # A loop is parked once it sleeps until a time still ahead; real Redis needs real I/O
        # to get there, hence the short real sleeps (bounded, so a stuck loop fails the test).
        for _ in range(5000):
            ahead = [due for due in self._due.values() if due > self.monotonic()]
            if len(ahead) == loops:
                return
            await self.advance(0)
            await asyncio.sleep(0.001)
        raise AssertionError(f"{loops} loops never went to sleep: {self._due}")

    async def run_for(self, seconds: float, *, step: float, loops: int) -> None:
        for _ in range(round(seconds / step)):
            await self.advance(step)
            await self.settle(loops)


Handler = Callable[[Event], Awaitable[None]]


def new_db(service: str) -> Any:
    return AsyncMongoMockClient()[f"{service}_db"]


def bus_for(service: str, redis: Any, clock: FakeClock, **options: Any) -> EventBus:
    return EventBus(service, redis, new_db(service), clock, **options)


def recorder(seen: list[Event]) -> Handler:
    async def handle(event: Event) -> None:
        seen.append(event)

    return handle


async def publish_orders(bus: EventBus, count: int) -> list[Event]:
    return [await bus.publish(ORDER_CREATED, {"orderId": f"o-{n}"}) for n in range(count)]


async def test_a_published_event_reaches_a_subscriber_with_its_envelope_intact(
    redis: Redis, clock: FakeClock
) -> None:
    order = bus_for("order", redis, clock)
    product = bus_for("product", redis, clock)
    seen: list[Event] = []
    trace_in_handler: list[int] = []

    async def handle(event: Event) -> None:
        seen.append(event)
        trace_in_handler.append(trace.get_current_span().get_span_context().trace_id)

    product.subscribe(ORDER_CREATED, handle)
    trace_id = 0x0AF7651916CD43DD8448EB211C80319C
    span = NonRecordingSpan(
        SpanContext(trace_id, 0xB7AD6B7169203331, is_remote=False, trace_flags=TraceFlags(1))
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        published = await order.publish(ORDER_CREATED, {"orderId": "o-1", "total": 1250}, version=2)
    finally:
        otel_context.detach(token)
    await product.drain()

    assert seen == [published]
    event = seen[0]
    assert uuid.UUID(event.id).version == 4
    assert (event.type, event.producer, event.version) == (ORDER_CREATED, "order", 2)
    assert event.data == {"orderId": "o-1", "total": 1250}
    assert event.time == clock.now()
    assert event.trace["traceparent"] == f"00-{trace_id:032x}-b7ad6b7169203331-01"
    assert trace_in_handler == [trace_id]
    assert (await order.stats()).outbox_waiting == 0


async def test_a_consumer_that_was_down_catches_up_and_a_crash_before_ack_does_not_double_apply(
    redis: Redis, clock: FakeClock
) -> None:
    order = bus_for("order", redis, clock)
    published = await publish_orders(order, 5)  # the product service has never run yet

    product_db = new_db("product")
    stock = product_db["stock_moves"]

    async def move_stock(event: Event) -> None:
        await stock.update_one({"_id": event.data["orderId"]}, {"$inc": {"n": 1}}, upsert=True)

    faulty = FaultyRedis(redis)
    faulty.crash_on.add("xack")  # dies after handling and recording the first event
    first_run = EventBus("product", faulty, product_db, clock, consumer="product-1")
    first_run.subscribe(ORDER_CREATED, move_stock)
    with pytest.raises(Crash):
        await first_run.drain()

    restarted = EventBus("product", redis, product_db, clock, consumer="product-1")
    restarted.subscribe(ORDER_CREATED, move_stock)
    await restarted.drain()

    moves = {doc["_id"]: doc["n"] async for doc in stock.find({})}
    assert moves == {event.data["orderId"]: 1 for event in published}
    assert await redis.xpending(ORDER_CREATED, "product") == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered_with_its_error(
    redis: Redis, clock: FakeClock
) -> None:
    order = bus_for("order", redis, clock)
    product = bus_for("product", redis, clock, max_attempts=3, retry=Backoff(base=1.0, cap=10.0))
    attempts: list[str] = []

    async def out_of_stock(event: Event) -> None:
        attempts.append(event.id)
        raise ValueError("no stock for p-1")

    product.subscribe(ORDER_CREATED, out_of_stock)
    event = await order.publish(ORDER_CREATED, {"orderId": "o-1"})

    await product.drain()
    await product.drain()  # the retry is not due yet
    assert len(attempts) == 1
    await clock.advance(1.0)
    await product.drain()
    assert len(attempts) == 2
    await clock.advance(1.0)  # the second retry waits twice as long
    await product.drain()
    assert len(attempts) == 2
    await clock.advance(1.0)
    await product.drain()
    await clock.advance(60.0)
    await product.drain()

    assert attempts == [event.id] * 3
    [(_, parked)] = await redis.xrange(dead_letter_stream("product"))
    assert parked[b"error"] == b"ValueError: no stock for p-1"
    assert parked[b"attempts"] == b"3"
    assert parked[b"stream"] == ORDER_CREATED.encode()
    assert json.loads(parked[b"event"])["id"] == event.id
    assert (await redis.xpending(ORDER_CREATED, "product"))["pending"] == 0
    assert (await product.stats()).dead_lettered == 1


async def test_a_handler_that_recovers_within_its_attempts_is_not_dead_lettered(
    redis: Redis, clock: FakeClock
) -> None:
    order = bus_for("order", redis, clock)
    product = bus_for("product", redis, clock, max_attempts=3, retry=Backoff(base=1.0, cap=1.0))
    calls: list[str] = []

    async def flaky(event: Event) -> None:
        calls.append(event.id)
        if len(calls) < 3:
            raise TimeoutError("inventory slow")

    product.subscribe(ORDER_CREATED, flaky)
    await order.publish(ORDER_CREATED, {"orderId": "o-1"})
    for _ in range(3):
        await product.drain()
        await clock.advance(1.0)
    await product.drain()

    assert len(calls) == 3
    assert (await product.stats()).dead_lettered == 0
    assert (await redis.xpending(ORDER_CREATED, "product"))["pending"] == 0


async def test_pending_events_of_a_crashed_consumer_are_reclaimed_by_another_instance(
    redis: Redis, clock: FakeClock
) -> None:
    order = bus_for("order", redis, clock)
    product_db = new_db("product")
    published = await publish_orders(order, 2)

    async def die(event: Event) -> None:
        raise Crash("killed mid-handler")

    crashed = EventBus("product", redis, product_db, clock, consumer="product-a")
    crashed.subscribe(ORDER_CREATED, die)
    with pytest.raises(Crash):
        await crashed.drain()

    seen: list[Event] = []
    patient = EventBus("product", redis, product_db, clock, consumer="product-b")
    patient.subscribe(ORDER_CREATED, recorder(seen))
    await patient.drain()
    assert seen == []  # not idle long enough to be taken from a consumer that may be alive

    eager = EventBus("product", redis, product_db, clock, consumer="product-c", claim_idle=0)
    eager.subscribe(ORDER_CREATED, recorder(seen))
    await eager.drain()

    assert seen == published
    assert (await redis.xpending(ORDER_CREATED, "product"))["pending"] == 0


async def test_a_redis_outage_delays_published_events_without_dropping_or_reordering_them(
    redis: Redis,
) -> None:
    clock = LoopClock()
    faulty = FaultyRedis(redis)
    order = bus_for("order", faulty, clock, outage_retry=Backoff(base=0.5, cap=4.0))
    product = bus_for("product", redis, clock)
    seen: list[Event] = []
    product.subscribe(ORDER_CREATED, recorder(seen))

    faulty.down = True
    published = await publish_orders(order, 4)
    assert (await order.stats()).outbox_waiting == 4
    await order.start()
    try:
        await clock.run_for(20.0, step=0.5, loops=1)
        # Tries at 0, 0.5, 1.5, 3.5, 7.5, 11.5, ... (backoff 0.5, 1, 2, 4, 4): about ten in
        # 20 s, where retrying every 0.5 s would have made forty.
        assert 5 <= faulty.calls["xadd"] <= 10
        await product.drain()
        assert seen == []

        faulty.down = False
        await clock.run_for(4.0, step=0.5, loops=1)
        assert (await order.stats()).outbox_waiting == 0
        published += await publish_orders(order, 2)
    finally:
        await order.stop()
    await product.drain()

    assert seen == published


async def test_every_consumer_group_gets_every_event(redis: Redis, clock: FakeClock) -> None:
    order = bus_for("order", redis, clock)
    by_service: dict[str, list[Event]] = {"product": [], "coupon": []}
    buses = [bus_for(name, redis, clock) for name in by_service]
    for bus in buses:
        bus.subscribe(ORDER_CREATED, recorder(by_service[bus.service]))
    published = await publish_orders(order, 3)
    for bus in buses:
        await bus.drain()

    assert by_service == {"product": published, "coupon": published}


async def test_an_idle_consumer_loop_waits_instead_of_spinning_and_wakes_for_new_events(
    redis: Redis,
) -> None:
    clock = LoopClock()
    faulty = FaultyRedis(redis)
    product = bus_for("product", faulty, clock, poll_interval=0.01, max_poll_interval=0.08)
    seen: list[Event] = []
    product.subscribe(ORDER_CREATED, recorder(seen))
    await product.start()
    try:
        await clock.settle(loops=2)
        await clock.run_for(1.0, step=0.01, loops=2)
        # Idle waits 0.01, 0.02, 0.04, then 0.08 each: about fifteen reads in 1 s, where
        # polling without growing would make a hundred and a loop that never waits thousands.
        assert 8 <= faulty.calls["xreadgroup"] <= 25

        published = await bus_for("order", redis, clock).publish(ORDER_CREATED, {"id": 1})
        await clock.run_for(0.08, step=0.01, loops=2)
        assert seen == [published]
    finally:
        await product.stop()


async def test_notifications_reach_current_listeners(redis: Redis, clock: FakeClock) -> None:
    ticket = bus_for("ticket", redis, clock)
    channel = "order:status:o-1"
    async with ticket.listen(channel) as notifications:
        receivers = await ticket.notify(channel, {"status": "confirmed"})
        received = await anext(notifications)

    assert receivers == 1
    assert (received.channel, received.message) == (channel, {"status": "confirmed"})


def test_subscribing_twice_to_one_name_is_refused(clock: FakeClock) -> None:
    bus = EventBus("product", Redis(), new_db("product"), clock)
    bus.subscribe(ORDER_CREATED, recorder([]))
    with pytest.raises(ValueError, match="already has a handler"):
        bus.subscribe(ORDER_CREATED, recorder([]))
