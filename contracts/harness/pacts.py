"""Where pacts live, and how a consumer module publishes its pact only after a full green run.

Pact Python serves one `Pact` per test (a started mock server takes no new interactions), so
each test writes its interaction into a staging directory where the core merges them. The
module's pact replaces the committed one in `contracts/pacts/` only when every test in the
module ran and passed: a partial run (`-k`, one node id) never drops interactions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pact import Pact

PACT_DIR = Path(__file__).resolve().parent.parent / "pacts"


def pact_file(consumer: str, provider: str, directory: Path = PACT_DIR) -> Path:
    return directory / f"{consumer}-{provider}.json"


def declared_tests(module: ModuleType) -> int:
    """How many test items the module defines (parametrised tests count once per case)."""
    count = 0
    for name, value in vars(module).items():
        if not (name.startswith("test_") and callable(value)):
            continue
        cases = 1
        for mark in getattr(value, "pytestmark", []):
            if mark.name == "parametrize":
                cases *= len(mark.args[1])
        count += cases
    return count


class PactBook:
    """One consumer-provider pact, built one interaction per test."""

    def __init__(self, consumer: str, provider: str, staging: Path) -> None:
        self.consumer = consumer
        self.provider = provider
        self.staging = staging
        self.recorded = 0

    def new(self) -> Pact:
        """A fresh V4 `Pact` for one test's interaction."""
        return Pact(self.consumer, self.provider).with_specification("V4")

    def record(self, pact: Pact) -> None:
        """Merge this test's interaction into the staged pact; call once the test passed."""
        pact.write_file(self.staging, overwrite=False)
        self.recorded += 1

    def publish_if_complete(self, expected: int, failed: bool) -> bool:
        staged = pact_file(self.consumer, self.provider, self.staging)
        if failed or self.recorded != expected or not staged.exists():
            return False
        PACT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, pact_file(self.consumer, self.provider))
        return True


def interactions(path: Path) -> list[dict[str, Any]]:
    body: dict[str, Any] = json.loads(path.read_text())
    found: list[dict[str, Any]] = body.get("interactions", [])
    return found


def book_fixture(consumer: str, provider: str) -> Any:
    """A module-scoped fixture `book` for a consumer test module of this pair."""

    @pytest.fixture(scope="module")
    def book(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
        staging = tmp_path_factory.mktemp(f"pact-{consumer}-{provider}")
        pact_book = PactBook(consumer, provider, staging)
        failures_before = request.session.testsfailed
        yield pact_book
        failed = request.session.testsfailed != failures_before
        pact_book.publish_if_complete(declared_tests(request.module), failed)

    return book
