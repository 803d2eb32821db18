"""A cluster of just the services these tests need, so others' start-up stays out of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from tests.conftest import FAST_HASHING, SPANS


async def halt_event_loops(cluster: Cluster) -> None:
    """Cancel the buses' background loops until they are really gone.

    Kit gap: on Python 3.11 a cancel can be swallowed inside fakeredis' blocking read
    (asyncio.wait_for's race), and EventBus.stop() cancels once, then waits forever.
    """
    for infra in cluster.infras.values():
        for task in list(infra.bus._tasks):
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    built = Cluster(
        Wiring(span_exporter=SPANS, batch_spans=False),
        services=["auth", "coupon"],
        overrides=FAST_HASHING,
    )
    await built.start()
    try:
        yield built
    finally:
        await halt_event_loops(built)
        await built.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(cluster: Cluster) -> Cluster:
    """The module's cluster with its stores emptied (see halt_event_loops for why not reset)."""
    await halt_event_loops(cluster)
    await cluster.reset()
    # Kit gap: the reset flushed Redis but each consumer still believes its group exists; the
    # first read meets NOGROUP and makes it again, so spend that read here, not in a test.
    for infra in cluster.infras.values():
        await infra.bus.drain()
    SPANS.clear()
    return cluster
