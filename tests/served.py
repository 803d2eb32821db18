"""Serving clusters on free loopback ports for end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from estore.cluster import Cluster

START_GUARD_SECONDS = 15


@asynccontextmanager
async def serving(*clusters: Cluster) -> AsyncIterator[Sequence[Cluster]]:
    """Serve each cluster on its ports until the block ends, then stop them all."""
    tasks: list[asyncio.Task[None]] = []
    try:
        for cluster in clusters:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(cluster.serve("127.0.0.1", ready)))
            await asyncio.wait_for(ready.wait(), timeout=START_GUARD_SECONDS)
        yield clusters
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
