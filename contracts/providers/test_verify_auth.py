"""Verify auth against its consumers: the JWKS (gateway) and `user:registered` (coupon)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.harness.messages import last_published
from contracts.harness.pacts import PACT_DIR
from contracts.harness.provider import is_message_pact
from contracts.harness.served import ServedProvider
from contracts.harness.verify import Seed, pacts_for, verify_http, verify_messages
from estore.kit.events.catalog import UserRegistered
from estore.services.auth.models import Registration


async def nothing(served: ServedProvider, params: dict[str, Any]) -> None:
    """Auth's signing key is set when the app is built; there is nothing to seed."""


SEEDS: dict[str, Seed] = {"auth signs tokens with one key": nothing}


@pytest.fixture(scope="module")
def auth() -> Iterator[ServedProvider]:
    with ServedProvider("auth") as served:
        yield served


def http_sources() -> list[tuple[str, str]]:
    return [("today", str(p)) for p in pacts_for("auth", PACT_DIR) if not is_message_pact(p)]


def message_sources() -> list[tuple[str, str]]:
    return [("today", str(p)) for p in pacts_for("auth", PACT_DIR) if is_message_pact(p)]


def produce_with(served: ServedProvider) -> Any:
    def produce(description: str) -> dict[str, Any]:
        if description != "a user:registered event for a new customer":
            raise KeyError(f"auth publishes no message {description!r}")

        async def register() -> dict[str, Any]:
            await served.reset()
            form = Registration(email="ada@example.com", password="correct horse 1", name="Ada")
            await served.service().register(form)
            return await last_published(served.cluster.infras["auth"].redis, UserRegistered.NAME)

        return served.run(register())

    return produce


def test_auth_honours_every_http_pact_its_consumers_wrote(auth: ServedProvider) -> None:
    verdicts = verify_http(auth, http_sources(), SEEDS)
    assert verdicts, "no HTTP pact names auth as provider"
    for verdict in verdicts:
        assert verdict.passed, verdict.message()


def test_auth_publishes_user_registered_as_its_consumers_expect(auth: ServedProvider) -> None:
    verdicts = verify_messages("auth", message_sources(), produce_with(auth))
    assert verdicts, "no message pact names auth as provider"
    for verdict in verdicts:
        assert verdict.passed, verdict.message()
