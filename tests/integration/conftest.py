"""Signed callers every integration folder may ask for by name."""

from __future__ import annotations

import pytest

from estore.cluster import Cluster
from tests.callers import ADMIN, ALICE, as_caller


@pytest.fixture
def admin(fresh: Cluster) -> dict[str, str]:
    return as_caller(fresh, ADMIN)


@pytest.fixture
def alice(fresh: Cluster) -> dict[str, str]:
    return as_caller(fresh, ALICE)
