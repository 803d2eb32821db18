"""Fixtures shared by every test layer: clocks and Redis (fake, or real when CI provides one)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import fakeredis
import pytest
import redis.asyncio as aioredis

from estore.kit.clock import FakeClock

REAL_REDIS_URL = os.environ.get("ESTORE_TEST_REDIS_URL")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    """A Redis for one test: fakeredis, or the real server named by ESTORE_TEST_REDIS_URL.

    Tests that use it carry the `redis` marker, so `.ci/run` repeats them on a real server.
    """
    if REAL_REDIS_URL:
        client = aioredis.from_url(REAL_REDIS_URL, decode_responses=False)
        await client.flushdb()
    else:
        client = fakeredis.aioredis.FakeRedis(server=fakeredis.FakeServer())
    try:
        yield client
    finally:
        if REAL_REDIS_URL:
            await client.flushdb()
        await client.aclose()
