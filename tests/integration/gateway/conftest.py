"""Fixtures for gateway execution tests: the four strawberry subgraphs behind a Gateway."""

from __future__ import annotations

import pytest
import strawberry

from estore.gateway.gateway import Gateway
from estore.gateway.limits import Limits
from tests.integration.gateway.gateway_subgraphs import RecordingFetcher, Store, build_schemas


@pytest.fixture(scope="module")
def schemas() -> dict[str, strawberry.federation.Schema]:
    return build_schemas()


@pytest.fixture
def fetcher(schemas: dict[str, strawberry.federation.Schema]) -> RecordingFetcher:
    return RecordingFetcher(schemas, Store())


@pytest.fixture
def gateway(fetcher: RecordingFetcher) -> Gateway:
    return Gateway.from_sdls(fetcher.sdls(), fetcher, limits=Limits(max_depth=8, max_cost=2000))
