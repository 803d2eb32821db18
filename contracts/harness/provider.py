"""Shared shape of a provider-verification module: sources, a served provider, assertions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from contracts.harness.pacts import PACT_DIR
from contracts.harness.served import ServedProvider
from contracts.harness.verify import Seed, Verdict, pacts_for, verify_http

# Every consumer forwards this customer; provider states seed data owned by them.
CUSTOMER_ID = "cust-1"


def is_message_pact(path: Path) -> bool:
    return '"Asynchronous/Messages"' in path.read_text()


def today_http_sources(provider: str, directory: Path = PACT_DIR) -> list[tuple[str, str]]:
    return [("today", str(p)) for p in pacts_for(provider, directory) if not is_message_pact(p)]


def today_message_sources(provider: str, directory: Path = PACT_DIR) -> list[tuple[str, str]]:
    return [("today", str(p)) for p in pacts_for(provider, directory) if is_message_pact(p)]


def verify_as_customer(
    served: ServedProvider, seeds: Mapping[str, Seed], sources: list[tuple[str, str]]
) -> list[Verdict]:
    """Replay the pacts with a forwarded caller header this provider accepts."""
    headers = {"X-Estore-Caller": served.sign(CUSTOMER_ID)}
    return verify_http(served, sources, seeds, headers)


def assert_verified(verdicts: list[Verdict], provider: str) -> None:
    assert verdicts, f"no pact names {provider} as provider"
    broken = [v.message() for v in verdicts if not v.passed]
    assert not broken, "\n\n".join(broken)
