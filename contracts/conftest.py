"""Contract suite set-up: Pact telemetry off, JSON logs, seeded randomness."""

from __future__ import annotations

import os
import random

import pytest

from estore.kit.observability import configure_logging


def pytest_configure(config: pytest.Config) -> None:
    # The Pact core phones home unless told not to; CI runs offline.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    random.seed(20240601)
    # structlog's default console renderer draws exceptions with `rich` (a schemathesis
    # dependency) including every local: one fuzzed 500 then took minutes to log.
    configure_logging("WARNING", json=True)
