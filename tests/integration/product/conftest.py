"""Product integration fixtures: a cluster of auth, product and category."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from tests.conftest import cluster_of

cluster = cluster_of("auth", "product", "category")


@pytest.fixture
async def product(fresh: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh.client("product") as client:
        yield client

