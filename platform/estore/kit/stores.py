"""Store backends chosen by URI: in-process fakes when unset, real MongoDB and Redis otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import fakeredis
import redis.asyncio as aioredis
from motor.motor_asyncio import AsyncIOMotorClient

from estore.kit.events.broadcast import Broadcaster
from estore.kit.fastmongo import FastMongoClient


def _real_mongo(uri: str) -> Any:
    return AsyncIOMotorClient(uri, tz_aware=True, serverSelectionTimeoutMS=3000)


# Every service in a process shares one client; at sale-day concurrency redis-py's default of
# 100 connections ran out (MaxConnectionsError), so callers now queue for a connection.
MAX_REDIS_CONNECTIONS = 512
REDIS_POOL_TIMEOUT_SECONDS = 5


def _real_redis(url: str) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_REDIS_CONNECTIONS,
        timeout=REDIS_POOL_TIMEOUT_SECONDS,
        socket_connect_timeout=3,
        health_check_interval=30,
    )
    return aioredis.Redis(connection_pool=pool)


MONGO_SCHEMES: dict[str, Callable[[str], Any]] = {
    "mongodb": _real_mongo,
    "mongodb+srv": _real_mongo,
}
REDIS_SCHEMES: dict[str, Callable[[str], aioredis.Redis]] = {
    "redis": _real_redis,
    "rediss": _real_redis,
    "unix": _real_redis,
}


def _scheme(uri: str, known: dict[str, Any], what: str) -> str:
    scheme = urlsplit(uri).scheme
    if scheme not in known:
        raise ValueError(f"{what} {uri!r}: unsupported scheme; use one of {sorted(known)}")
    return scheme


class Stores:
    """Opens the stores a service asks for; the fakes are shared, so one process sees one world.

    Each real URI gets one client, reused by every service that names it.
    """

    def __init__(self, *, fast_paths: bool = True) -> None:
        # fast_paths=False puts the fakes on plain mongomock (benchmarks compare the two).
        self._fast_paths = fast_paths
        self._mongo: dict[str | None, Any] = {}
        self._redis: dict[str | None, aioredis.Redis] = {}
        self._broadcasters: dict[str | None, Broadcaster] = {}
        self._fake_redis_server = fakeredis.FakeServer()

    def mongo(self, uri: str | None) -> Any:
        if uri not in self._mongo:
            self._mongo[uri] = self._open_mongo(uri)
        return self._mongo[uri]

    def redis(self, url: str | None) -> aioredis.Redis:
        if url not in self._redis:
            self._redis[url] = self._open_redis(url)
        return self._redis[url]

    def broadcaster(self, url: str | None) -> Broadcaster:
        """Live pub/sub for every service on `redis(url)`: one connection for all listeners."""
        if url not in self._broadcasters:
            self._broadcasters[url] = Broadcaster(self.redis(url))
        return self._broadcasters[url]

    def database(self, uri: str | None, name: str) -> Any:
        return self.mongo(uri)[name]

    def _open_mongo(self, uri: str | None) -> Any:
        if uri is None:
            return fake_mongo_client(self._fast_paths)
        return MONGO_SCHEMES[_scheme(uri, MONGO_SCHEMES, "MONGODB_URI")](uri)

    def _open_redis(self, url: str | None) -> aioredis.Redis:
        if url is None:
            return fakeredis.aioredis.FakeRedis(
                server=self._fake_redis_server,
                connection_pool_class=aioredis.BlockingConnectionPool,
                max_connections=MAX_REDIS_CONNECTIONS,
                timeout=REDIS_POOL_TIMEOUT_SECONDS,
            )
        return REDIS_SCHEMES[_scheme(url, REDIS_SCHEMES, "REDIS_URL")](url)

    async def reset(self) -> None:
        """Empty the fakes between tests; real stores are never wiped from here."""
        for uri, client in self._mongo.items():
            if uri is None:
                for name in await client.list_database_names():
                    await client.drop_database(name)
        fake = self._redis.get(None)
        if fake is not None:
            await fake.flushall()

    async def close(self) -> None:
        for broadcaster in self._broadcasters.values():
            await broadcaster.close()
        for redis in self._redis.values():
            await redis.aclose()
        for uri, client in self._mongo.items():
            if uri is not None:
                client.close()


def fake_mongo_client(fast_paths: bool = True) -> Any:
    """mongomock with an index path: sale-day collections stay fast as they grow."""
    return FastMongoClient(tz_aware=True, fast_paths=fast_paths)
