"""Consumer-side wiring: the kit's real service clients pointed at a Pact mock server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client import CollectorRegistry

from estore.kit.clients import ClientRegistry, RetryPolicy, ServiceClient
from estore.kit.clock import SystemClock
from estore.kit.identity import Caller, InternalIdentity, Role, acting_as, caller_headers

# The consumer signs with its own key; the provider's verification replaces the header.
CONSUMER_KEY = b"contracts-consumer-side-internal-key-0001"
CUSTOMER = Caller(user_id="cust-1", email="cust-1@example.com", roles=frozenset({Role.CUSTOMER}))
# The forwarded caller header's shape: `v1.<payload>.<mac>`, base64url parts.
CALLER_HEADER_REGEX = r"^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


@asynccontextmanager
async def client_to(
    name: str, base_url: str, forwards_caller: bool = True
) -> AsyncIterator[ServiceClient]:
    """The kit's `ServiceClient` for `name` as its consumer builds it, aimed at `base_url`;
    `forwards_caller=False` builds it as for an external system, which gets no caller.

    One attempt only: a retry would replay the interaction and hide a mismatch.
    """
    registry = ClientRegistry(
        {name: (base_url.rstrip("/"), httpx.AsyncHTTPTransport())},
        clock=SystemClock(),
        registry=CollectorRegistry(),
        header_providers=[caller_headers],
        external=() if forwards_caller else (name,),
        retry=RetryPolicy(attempts=1),
        deadline=5.0,
    )
    try:
        yield registry[name]
    finally:
        await registry.aclose()


def acting_as_customer(caller: Caller = CUSTOMER) -> object:
    """Forward `caller` on outgoing calls, as a service does while serving that caller."""
    return acting_as(caller, InternalIdentity(CONSUMER_KEY, SystemClock(), 60))
