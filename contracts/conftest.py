"""Contract suite set-up: Pact telemetry off, quiet Pact logs, seeded randomness."""

from __future__ import annotations

import os
import random

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The Pact core phones home unless told not to; CI runs offline.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    random.seed(20240601)
