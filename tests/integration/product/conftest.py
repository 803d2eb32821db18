"""Product integration fixtures: a cluster of auth, product and category, and signed callers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from tests.callers import ADMIN, ALICE, as_caller
from tests.conftest import cluster_of

cluster = cluster_of("auth", "product", "category")


@pytest.fixture
async def product(fresh: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh.client("product") as client:
        yield client


@pytest.fixture
def admin(fresh: Cluster) -> dict[str, str]:
    return as_caller(fresh, ADMIN)


@pytest.fixture
def alice(fresh: Cluster) -> dict[str, str]:
    return as_caller(fresh, ALICE)
