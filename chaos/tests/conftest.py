"""Chaos tests run schedules on their own event loops: keep the planted crashes' logs quiet."""

from __future__ import annotations

import pytest

from chaos.run import quiet_logs


@pytest.fixture(autouse=True, scope="session")
def _quiet() -> None:
    quiet_logs()
