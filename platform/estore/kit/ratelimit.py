"""Rate limits kept in Redis, so every instance of a service shares the count.

Two kinds: fixed windows (so many hits a minute) and exponential backoff after failures (each
failure past the free ones doubles the wait), both timed on the injected clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from estore.kit.clock import Clock


@dataclass(frozen=True)
class Limit:
    attempts: int
    window_seconds: int


class RateLimiter:
    """Counts hits per key in windows of the injected clock's time.

    The window number is part of the Redis key, so a fake clock moves windows in tests;
    the Redis TTL only cleans up old windows.
    """

    def __init__(self, redis: aioredis.Redis, clock: Clock, prefix: str) -> None:
        self._redis = redis
        self._clock = clock
        self._prefix = prefix

    def _key(self, name: str, limit: Limit) -> tuple[str, int]:
        now = self._clock.now().timestamp()
        window = int(now // limit.window_seconds)
        retry_after = max(1, int((window + 1) * limit.window_seconds - now))
        return f"{self._prefix}:{name}:{window}", retry_after

    async def blocked_for(self, name: str, limit: Limit) -> int | None:
        """Seconds until `name` may try again, or None when it is under its limit."""
        key, retry_after = self._key(name, limit)
        count = await self._redis.get(key)
        return retry_after if count is not None and int(count) >= limit.attempts else None

    async def hit(self, name: str, limit: Limit) -> int | None:
        """Count one attempt; seconds to wait if this attempt went over the limit."""
        key, retry_after = self._key(name, limit)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, limit.window_seconds * 2)
            count, _ = await pipe.execute()
        return retry_after if int(count) > limit.attempts else None

    async def clear(self, name: str, limit: Limit) -> None:
        key, _ = self._key(name, limit)
        await self._redis.delete(key)


@dataclass(frozen=True)
class BackoffPolicy:
    free_failures: int
    base_seconds: float
    max_seconds: int
    # Failures are forgotten this long after the last one.
    memory_seconds: int

    def wait_after(self, failures: int) -> int:
        """Seconds to wait after `failures` failures in a row (0 while some are still free)."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, 32)
        return min(self.max_seconds, math.ceil(self.base_seconds * 2**doublings))


class Backoff:
    """Failures per key, and how long the key must wait before its next attempt."""

    def __init__(self, redis: aioredis.Redis, clock: Clock, prefix: str) -> None:
        self._redis = redis
        self._clock = clock
        self._prefix = prefix

    def _key(self, name: str) -> str:
        return f"{self._prefix}:{name}"

    async def wait_for(self, name: str) -> int | None:
        """Seconds until `name` may try again, or None when it may try now."""
        until = await self._redis.hget(self._key(name), "until")
        if until is None:
            return None
        remaining = math.ceil(float(until) - self._clock.now().timestamp())
        return remaining if remaining > 0 else None

    async def fail(self, name: str, policy: BackoffPolicy) -> int:
        """Count one failure; the seconds `name` must now wait (0 while failures are free)."""
        key, now = self._key(name), self._clock.now().timestamp()
        last = await self._redis.hget(key, "last")
        if last is not None and now - float(last) > policy.memory_seconds:
            await self._redis.delete(key)
        failures = int(await self._redis.hincrby(key, "failures", 1))
        wait = policy.wait_after(failures)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"last": now, "until": now + wait})
            # Redis time only cleans up; what counts is the injected clock's `last`.
            pipe.expire(key, policy.memory_seconds + wait)
            await pipe.execute()
        return wait

    async def clear(self, name: str) -> None:
        await self._redis.delete(self._key(name))
