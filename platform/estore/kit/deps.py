"""FastAPI dependencies every service's routes share."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from starlette.requests import HTTPConnection

from estore.kit.identity import CLIENT_HEADER, IdentityRefused


def paging_query(minimum: int, maximum: int | None = None) -> Any:
    """A paging parameter whose range OpenAPI documents but the use case checks.

    The use case's check (`estore.kit.paging`) answers 400 in the one error shape on REST and
    GraphQL alike; FastAPI's own bounds would answer 422 on REST only.
    """
    bounds = {"minimum": minimum} if maximum is None else {"minimum": minimum, "maximum": maximum}
    return Query(json_schema_extra=bounds)


async def service_of(request: HTTPConnection) -> Any:
    """FastAPI dependency: the use cases of the service that owns this app.

    Async on purpose: FastAPI runs a plain `def` dependency in a worker thread, which costs a
    thread hop per request and lets thread timing decide the order requests go on in.
    """
    return request.app.state.service


def client_address(request: HTTPConnection | None) -> str:
    """Who is calling, for rate limits: the end client the gateway vouches for, else the peer.

    Only a signed `X-Estore-Client` is believed: a plain X-Forwarded-For is the client's own
    say-so, and trusting it let one client spray logins under endless made-up addresses.
    """
    if request is None:
        return "unknown"
    vouched = request.headers.get(CLIENT_HEADER)
    if vouched:
        try:
            address: str = request.app.state.infra.internal_identity.verify_client(vouched)
            return address
        except IdentityRefused:
            pass  # forged or stale: count the request against its real peer
    return request.client.host if request.client else "unknown"
