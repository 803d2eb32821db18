"""Verify the payment processor against the order service's pact (charge, find, refund).

The pact holds the merchant key's shape; the replay sends the served processor's real key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.harness.provider import (
    CUSTOMER_ID,
    assert_verified,
    today_http_sources,
)
from contracts.harness.served import ServedProvider
from contracts.harness.stores import rekey
from contracts.harness.verify import Seed, Verdict, verify_http
from estore.services.payment.models import ChargeRequest


async def accepts_cards(served: ServedProvider, params: dict[str, Any]) -> None:
    """The processor starts with no charges and no chaos dialled in."""


async def charged(served: ServedProvider, params: dict[str, Any]) -> None:
    request = ChargeRequest(
        idempotency_key=params["idempotency_key"],
        amount=4500,
        currency="EUR",
        card_number="4242424242424242",
        customer_id=CUSTOMER_ID,
    )
    made, _ = await served.service().charge(request)
    if "charge_id" in params:
        await rekey(served.cluster.infras["payment"].db["charges"], made.id, params["charge_id"])


SEEDS: dict[str, Seed] = {
    "the processor accepts cards": accepts_cards,
    "a charge was made under a key": charged,
}


def verify_as_merchant(
    served: ServedProvider, seeds: dict[str, Seed], sources: list[tuple[str, str]]
) -> list[Verdict]:
    """Replay the pacts with the served processor's own merchant key."""
    assert served.cluster is not None
    key = served.cluster.infras["payment"].settings.payment_secret_key
    assert key is not None
    return verify_http(
        served, sources, seeds, {"Authorization": f"Bearer {key.get_secret_value()}"}
    )


@pytest.fixture(scope="module")
def payment() -> Iterator[ServedProvider]:
    with ServedProvider("payment") as served:
        yield served


def test_payment_honours_every_pact_its_consumers_wrote(payment: ServedProvider) -> None:
    verdicts = verify_as_merchant(payment, SEEDS, today_http_sources("payment"))
    assert_verified(verdicts, "payment")
