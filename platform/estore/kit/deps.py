"""FastAPI dependencies every service's routes share."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection


def service_of(request: HTTPConnection) -> Any:
    """FastAPI dependency: the use cases of the service that owns this app."""
    return request.app.state.service


def client_address(request: HTTPConnection | None) -> str:
    """Who is calling, for rate limits: the first forwarded hop, else the peer."""
    if request is None:
        return "unknown"
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    return forwarded or (request.client.host if request.client else "unknown")
