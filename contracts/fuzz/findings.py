"""Faults fuzzing found in the services, each with the request that showed it.

`FIXED` are regression examples: `test_findings.py` replays each and expects the fixed
answer. `KNOWN` holds faults found but not fixed yet: the fuzz run leaves out a failure whose
operation and message match one of them (so it is not reported twice) until it is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    operation: str
    # Text of the failure report that identifies this fault and no other.
    signature: str
    request: dict[str, Any]
    what: str


RESTOCK_PAST_THE_LIMIT = Finding(
    operation="Mutation.restockProduct",
    signature="validation error for StockChange",
    request={
        "query": 'mutation { restockProduct(id: "-2147483648", quantity: 39532144) { name } }'
    },
    what=(
        "ProductService.restock builds StockChange(delta=quantity) without `validated`: a "
        "quantity above 10,000,000 raises a bare pydantic ValidationError, which the gateway "
        "reports as DOWNSTREAM_SERVICE_ERROR (a server fault) instead of BAD_REQUEST. "
        "Found by contracts/fuzz/test_graphql.py (derandomized Hypothesis run, admin token)."
    ),
)

RESERVATION_TTL_UNDOCUMENTED = Finding(
    operation="POST /api/v1/reservations",
    signature="ttl_seconds must be at most",
    request={"ttl_seconds": 118393, "items": [{"product_id": "<a product>", "quantity": 1}]},
    what=(
        "The product service refuses ttl_seconds above reservation_max_ttl_seconds (86400) "
        "with 422 'ttl_seconds must be at most 86400', but ReservationRequest.ttl_seconds "
        "documents no maximum: a schema-valid request is rejected (schemathesis ST202, found "
        "by contracts/fuzz/test_stateful.py, derandomized run). The stateful run keeps "
        "ttl_seconds within the limit until the schema documents it."
    ),
)

FIXED: tuple[Finding, ...] = (RESTOCK_PAST_THE_LIMIT, RESERVATION_TTL_UNDOCUMENTED)
KNOWN: tuple[Finding, ...] = ()


def unexplained(failures: list[str], known: tuple[Finding, ...] = KNOWN) -> list[str]:
    """The failures no known finding accounts for."""
    return [
        failure
        for failure in failures
        if not any(failure.startswith(f"{f.operation}:") and f.signature in failure for f in known)
    ]
