"""Faults on the shared Redis: outages and slow commands, and bad deliveries on the streams.

Every service of a cluster talks to one Redis client, and every command it sends goes through
that client's `execute_command`, so the harness shadows that one method on the live client
(the services and the fake store are untouched):

- Redis outage and slow Redis go through the kit's fault seam under the dependency name
  `redis`, which counts them like any other injection: an outage raises redis-py's
  `ConnectionError`, latency sleeps on the injected clock before the command runs;
- the stream kinds act on the event streams only, and are counted here when they change a
  delivery: `duplicate` writes an XADD twice (the same event, so its id too), `delay` holds
  back new reads until it ends, `reorder` holds them back too and then hands the held entries
  to each consumer group in reverse order, streams and entries alike (Redis keeps each stream
  in order; a consumer reading several streams, or retrying, meets other orders).

The harness's own reads (is every group caught up? rewind a group) go through `bypass()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from estore.kit.clock import Clock
from estore.kit.faults import Faults

REDIS = "redis"
STREAM_KINDS = ("duplicate", "delay", "reorder")


class RedisFaults:
    def __init__(
        self, redis: Redis, faults: Faults, clock: Clock, streams: tuple[str, ...], seed: int
    ) -> None:
        self._redis = redis
        self._command = redis.execute_command
        self._faults = faults
        self._clock = clock
        self._streams = frozenset(streams)
        self._rng = random.Random(f"streams:{seed}")
        self._armed: dict[str, float] = {}
        # After a reorder ends: the groups whose held entries have come, reversed, already.
        self._reversed: set[str] | None = None
        self._bypass = contextvars.ContextVar("bypass_redis_faults", default=False)
        self.fired: Counter[str] = Counter()
        redis.execute_command = self._execute  # type: ignore[method-assign]

    def arm(self, kind: str, rate: float = 1.0) -> None:
        if kind not in STREAM_KINDS:
            raise ValueError(f"unknown stream fault {kind!r}; known: {', '.join(STREAM_KINDS)}")
        self._armed[kind] = rate

    def disarm(self, kind: str) -> None:
        self._armed.pop(kind, None)
        if kind == "reorder":
            self._reversed = set()

    def clear(self) -> None:
        self._armed.clear()
        self._reversed = None

    @contextlib.contextmanager
    def bypass(self) -> Iterator[None]:
        token = self._bypass.set(True)
        try:
            yield
        finally:
            self._bypass.reset(token)

    async def _execute(self, *args: Any, **options: Any) -> Any:
        if self._bypass.get():
            return await self._command(*args, **options)
        if await self._faults.strike(REDIS, self._clock) is not None:
            raise RedisConnectionError("injected Redis outage: connection refused")
        name = str(args[0]).upper()
        if name == "XADD" and _text(args[1]) in self._streams and self._draw("duplicate"):
            reply = await self._command(*args, **options)
            await self._command(*args, **options)
            self.fired["duplicate"] += 1
            return reply
        streams = _new_read(args) if name == "XREADGROUP" else []
        if streams:
            return await self._read_new(_text(args[2]), streams, args, options)
        return await self._command(*args, **options)

    async def _read_new(
        self, group: str, streams: list[str], args: tuple[Any, ...], options: dict[str, Any]
    ) -> Any:
        for kind in ("delay", "reorder"):
            if self._draw(kind):
                if kind == "delay" and await self._waiting(group, streams):
                    self.fired["delay"] += 1
                return []
        reply = await self._command(*args, **options)
        if self._reversed is None or group in self._reversed or not _entries(reply):
            return reply
        self._reversed.add(group)
        if _entries(reply) >= 2:
            self.fired["reorder"] += 1
        return _reverse(reply)

    async def _waiting(self, group: str, streams: list[str]) -> bool:
        """Whether `group` has entries not yet delivered on any of `streams`."""
        with self.bypass():
            for stream in streams:
                if not await self._redis.exists(stream):
                    continue
                last = (await self._redis.xinfo_stream(stream))["last-generated-id"]
                for info in await self._redis.xinfo_groups(stream):
                    if _text(info["name"]) == group and info["last-delivered-id"] != last:
                        return True
        return False

    def _draw(self, kind: str) -> bool:
        rate = self._armed.get(kind)
        return rate is not None and (rate >= 1.0 or self._rng.random() < rate)


def _new_read(args: tuple[Any, ...]) -> list[str]:
    """The streams of an XREADGROUP for new entries (every id `>`); [] for any other read.

    redis-py sends XREADGROUP GROUP <group> <consumer> [COUNT n] [BLOCK ms] STREAMS <keys> <ids>.
    """
    words = [_text(a) for a in args]
    if "STREAMS" not in words:
        return []
    rest = words[words.index("STREAMS") + 1 :]
    keys, ids = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    return keys if ids and all(i == ">" for i in ids) else []


def _entries(reply: Any) -> int:
    if isinstance(reply, dict):
        return sum(len(batch) for nested in reply.values() for batch in nested)
    return sum(len(entries or []) for _, entries in reply or [])


def _reverse(reply: Any) -> Any:
    if isinstance(reply, dict):
        return {s: [list(reversed(b)) for b in reversed(n)] for s, n in reversed(reply.items())}
    return [[stream, list(reversed(entries))] for stream, entries in reversed(reply)]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
