"""Benchmark: live pub/sub through the kit's broadcaster against one connection per reader.

Run: .venv/bin/python benchmarks/bench_broadcast.py [--readers 1000] [--channels 100]
     [--messages 200] [--redis-url redis://127.0.0.1:6379/0]

`readers` chat connections spread over `channels` tickets; `messages` are published round
robin over the channels and every reader takes each message of its channel. Two shapes:

  per-reader   each reader subscribes its own pub/sub connection (what EventBus.listen did)
  broadcaster  every reader shares the process's one connection (estore.kit.events.broadcast)

Reported per shape: the connections the readers hold, the time to subscribe them all and the
time to deliver every message to every reader; ratios are against per-reader. On fakeredis
by default; name a real Redis to measure the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import fakeredis
import redis.asyncio as aioredis

from estore.kit.events import Broadcaster


@dataclass(frozen=True)
class Figures:
    shape: str
    connections: int
    subscribe_s: float
    deliver_s: float


Reader = Callable[[], Awaitable[Any]]
Subscribe = Callable[[AsyncExitStack, str], Awaitable[Reader]]


def per_reader(redis: aioredis.Redis) -> Subscribe:
    async def subscribe(stack: AsyncExitStack, channel: str) -> Reader:
        pubsub = redis.pubsub()
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=None)  # the confirmation
        stack.push_async_callback(pubsub.aclose)

        async def read() -> Any:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message and message["type"] == "message":
                    return json.loads(message["data"])

        return read

    return subscribe


def shared(redis: aioredis.Redis) -> Subscribe:
    broadcaster = Broadcaster(redis, inbox_limit=10_000)

    async def subscribe(stack: AsyncExitStack, channel: str) -> Reader:
        inbox = await stack.enter_async_context(broadcaster.subscribe(channel))

        async def read() -> Any:
            return (await inbox.get()).message

        return read

    return subscribe


async def measure(
    shape: str, redis: aioredis.Redis, subscribe: Subscribe, args: argparse.Namespace
) -> Figures:
    channels = [f"ticket:{n}" for n in range(args.channels)]
    before = len(await redis.client_list())
    async with AsyncExitStack() as stack:
        started = time.perf_counter()
        readers = [
            (channels[n % args.channels], await subscribe(stack, channels[n % args.channels]))
            for n in range(args.readers)
        ]
        subscribed = time.perf_counter() - started
        connections = len(await redis.client_list()) - before
        per_channel = {c: sum(1 for name, _ in readers if name == c) for c in channels}
        expected = sum(per_channel[channels[m % args.channels]] for m in range(args.messages))

        async def drain(channel: str, read: Reader) -> int:
            mine = sum(1 for m in range(args.messages) if channels[m % args.channels] == channel)
            for _ in range(mine):
                await read()
            return mine

        started = time.perf_counter()
        draining = [asyncio.create_task(drain(c, read)) for c, read in readers]
        for m in range(args.messages):
            await redis.publish(channels[m % args.channels], json.dumps({"seq": m}))
        delivered = sum(await asyncio.gather(*draining))
        delivering = time.perf_counter() - started
    assert delivered == expected, (delivered, expected)
    return Figures(shape, connections, subscribed, delivering)


@asynccontextmanager
async def redis_for(url: str | None) -> AsyncIterator[aioredis.Redis]:
    if url:
        client = aioredis.from_url(url, max_connections=100_000)
    else:
        client = fakeredis.aioredis.FakeRedis(
            server=fakeredis.FakeServer(), max_connections=100_000
        )
    try:
        yield client
    finally:
        await client.aclose()


async def main(args: argparse.Namespace) -> list[Figures]:
    figures = []
    for shape, make in (("per-reader", per_reader), ("broadcaster", shared)):
        async with redis_for(args.redis_url) as redis:
            figures.append(await measure(shape, redis, make(redis), args))
            print(f"  {shape} done", flush=True)
    return figures


def report(figures: list[Figures], args: argparse.Namespace) -> None:
    base = figures[0]
    print(f"\n{args.readers} readers on {args.channels} channels, {args.messages} messages")
    print(
        f"{'shape':<12} {'connections':>11} {'subscribe s':>12} {'deliver s':>10} "
        f"{'subscribe x':>12} {'deliver x':>10}"
    )
    for f in figures:
        print(
            f"{f.shape:<12} {f.connections:>11} {f.subscribe_s:>12.3f} {f.deliver_s:>10.3f} "
            f"{f.subscribe_s / base.subscribe_s:>12.2f} {f.deliver_s / base.deliver_s:>10.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--redis-url", default=None)
    arguments = parser.parse_args()
    report(asyncio.run(main(arguments)), arguments)
