"""A cluster of just the services these tests need, so others' start-up stays out of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from tests.conftest import FAST_HASHING, SPANS


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    built = Cluster(
        Wiring(span_exporter=SPANS, batch_spans=False),
        services=["auth", "payment"],
        overrides=FAST_HASHING,
    )
    await built.start()
    try:
        yield built
    finally:
        await built.stop()
