"""FastAPI dependencies every service's routes share."""

from __future__ import annotations

from typing import Any

from fastapi import Request


def service_of(request: Request) -> Any:
    """FastAPI dependency: the use cases of the service that owns this app."""
    return request.app.state.service


def client_address(request: Request) -> str:
    """Who is calling, for rate limits: the first forwarded hop, else the peer."""
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    return forwarded or (request.client.host if request.client else "unknown")
