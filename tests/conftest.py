"""Fixtures shared by every test layer: clocks and Redis (fake, or real when CI provides one)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.clock import FakeClock
from estore.kit.observability import configure_logging
from estore.kit.testing import FAST_HASHING

REAL_REDIS_URL = os.environ.get("ESTORE_TEST_REDIS_URL")
SPANS = InMemorySpanExporter()


def pytest_configure(config: pytest.Config) -> None:
    # structlog's console renderer draws each logged exception with all its locals (with
    # rich installed), which made one logged 500 take minutes: tests log JSON, warnings up.
    configure_logging("WARNING", json=True)


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


@pytest.fixture(scope="module")
def fast_hashing() -> dict[str, int]:
    return FAST_HASHING


def cluster_of(*services: str) -> Any:
    """A module-scoped `cluster` fixture of just these services (all of them when none named).

    A test folder whose conftest says `cluster = cluster_of("auth", "coupon")` keeps the other
    services' start-up out of its tests; `fresh` then resets that smaller cluster.
    """

    @pytest_asyncio.fixture(scope="module", loop_scope="module")
    async def cluster() -> AsyncIterator[Cluster]:
        built = Cluster(
            Wiring(span_exporter=SPANS, batch_spans=False),
            services=list(services) or None,
            overrides=FAST_HASHING,
        )
        await built.start()
        try:
            yield built
        finally:
            await built.stop()

    return cluster


cluster = cluster_of()


@pytest.fixture
async def fresh(cluster: Cluster) -> Cluster:
    """The module's cluster with its stores emptied, for a test that needs a clean world."""
    await cluster.reset()
    SPANS.clear()
    return cluster
