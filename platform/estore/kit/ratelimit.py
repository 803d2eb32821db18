"""Fixed-window rate limits kept in Redis, so every instance of a service shares the count."""

from __future__ import annotations

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
