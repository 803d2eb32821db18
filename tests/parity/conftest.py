"""Parity fixtures: the served cluster with demo data, and Apollo's reference beside it.

The Node packages must be installed (`npm ci --prefix tests/parity`); without them every
parity test fails with that command rather than skipping, so CI cannot pass by accident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.testing import free_ports
from estore.seed import seed
from tests.parity.reference import missing_reference
from tests.served import serving

PARITY_SERVICES = ("auth", "product", "category", "coupon", "payment", "order", "gateway")
SUBGRAPHS = ("auth", "product", "order", "category", "coupon")
CATALOG_SIZE = 24


@pytest.fixture(autouse=True)
def node_reference_installed() -> None:
    reason = missing_reference()
    if reason is not None:
        pytest.fail(f"parity suite cannot run: {reason}", pytrace=False)


@pytest.fixture(scope="module")
async def served(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    """Our five subgraphs, payment and our gateway on free loopback ports, seeded."""
    reason = missing_reference()
    if reason is not None:
        pytest.fail(f"parity suite cannot run: {reason}", pytrace=False)
    ports = dict(zip(PARITY_SERVICES, free_ports(len(PARITY_SERVICES)), strict=True))
    cluster = Cluster(
        Wiring(), services=PARITY_SERVICES, served=True, ports=ports, overrides=fast_hashing
    )
    async with serving(cluster):
        await seed(cluster, products=CATALOG_SIZE)
        yield cluster


def graphql_url(cluster: Cluster, name: str) -> str:
    return f"http://127.0.0.1:{cluster.infras[name].settings.port}/graphql"


def subgraph_urls(cluster: Cluster) -> dict[str, str]:
    return {name: graphql_url(cluster, name) for name in SUBGRAPHS}
