"""The category read cache: the whole tree as one Redis value, versioned for invalidation.

The tree is small and read on every listing, so one value serves every read. A change bumps
the version instead of deleting the value: a reader that loaded the old tree just before the
change writes it under the old version, where nobody looks any more.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from estore.services.category.models import Category

VERSION_KEY = "category:cache:version"
log = structlog.get_logger()

Loader = Callable[[], Awaitable[list[Category]]]


class CategoryCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def categories(self, load: Loader) -> list[Category]:
        """The cached tree, or `load()` stored for the next reader; Redis away means `load()`."""
        try:
            key = await self._key()
            raw = await self._redis.get(key)
        except RedisError as exc:
            log.warning("category.cache_unavailable", error=str(exc))
            return await load()
        if raw is not None:
            return [Category.model_validate(doc) for doc in json.loads(raw)]
        categories = await load()
        payload = json.dumps([c.model_dump(mode="json", by_alias=True) for c in categories])
        try:
            await self._redis.set(key, payload, ex=self._ttl)
        except RedisError as exc:
            log.warning("category.cache_unavailable", error=str(exc))
        return categories

    async def invalidate(self) -> None:
        try:
            await self._redis.incr(VERSION_KEY)
        except RedisError as exc:
            # Readers may see the old tree until the value expires; say so loudly.
            log.error("category.cache_invalidation_failed", error=str(exc))

    async def _key(self) -> str:
        version = await self._redis.get(VERSION_KEY)
        number = int(version) if version is not None else 0
        return f"category:cache:tree:{number}"
