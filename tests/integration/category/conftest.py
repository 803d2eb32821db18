"""Category integration fixtures: a cluster of auth, product and category, and signed callers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import CALLER_HEADER, Caller, Role

ADMIN = Caller(user_id="admin-1", email="admin@example.com", roles=frozenset({Role.ADMIN}))
ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
BOB = Caller(user_id="bob", email="bob@example.com", roles=frozenset({Role.CUSTOMER}))


@pytest.fixture(scope="module")
async def cluster(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    """Only the services the catalog needs, so these tests do not wait on the others."""
    built = Cluster(Wiring(), services=["auth", "product", "category"], overrides=fast_hashing)
    await built.start()
    try:
        yield built
    finally:
        await built.stop()


def as_caller(cluster: Cluster, caller: Caller) -> dict[str, str]:
    """The header another service (or the gateway) sends on `caller`'s behalf."""
    return {CALLER_HEADER: cluster.infras["category"].internal_identity.sign(caller)}


@pytest.fixture
async def category(fresh: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh.client("category") as client:
        yield client


@pytest.fixture
def admin(fresh: Cluster) -> dict[str, str]:
    return as_caller(fresh, ADMIN)


@pytest.fixture
def alice(fresh: Cluster) -> dict[str, str]:
    return as_caller(fresh, ALICE)
