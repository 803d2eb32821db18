"""The edge: who the client is (bearer tokens only), and what it may never send us.

Clients authenticate with `Authorization: Bearer <access token>`, verified against auth's
JWKS. The internal `X-Estore-Caller` header is how services vouch for a caller to each other;
a client that sends one is trying to be someone, so the header is removed before anything
reads the request, and the subgraphs see only the identity the gateway signs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from estore.kit.errors import Forbidden, Unauthorized, Unavailable
from estore.kit.identity import (
    CALLER_HEADER,
    CLIENT_HEADER,
    Authenticator,
    Caller,
    IdentityRefused,
    InternalIdentity,
    KeysUnavailable,
    Role,
)

log = logging.getLogger(__name__)

_DROPPED = frozenset(h.lower().encode("latin-1") for h in (CALLER_HEADER, CLIENT_HEADER))


class DropClientIdentity:
    """ASGI middleware: strip any client-sent X-Estore-Caller from HTTP and WebSocket requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope.get("headers") or []
            if any(name.lower() in _DROPPED for name, _ in headers):
                scope = {**scope, "headers": [h for h in headers if h[0].lower() not in _DROPPED]}
        await self.app(scope, receive, send)


async def verify_bearer(authenticator: Authenticator, authorization: str) -> Caller:
    """The caller an `Authorization` value proves; IdentityRefused or KeysUnavailable if not."""
    verifier = authenticator.verifier
    if verifier is None:
        raise IdentityRefused("the gateway has no token verifier")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise IdentityRefused("authorization is not 'Bearer <token>'")
    return await verifier.verify(token.strip())


def token_expiry(authorization: str) -> datetime | None:
    """When an already verified bearer token expires (its `exp`), or None if it says nothing."""
    token = authorization.strip().partition(" ")[2].strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp")
    return datetime.fromtimestamp(expires, UTC) if isinstance(expires, int | float) else None


def _authorization(headers: Mapping[str, str]) -> str | None:
    values = [v for k, v in headers.items() if k.lower() == "authorization"]
    if len(values) > 1:
        raise Unauthorized("send one Authorization header, not several")
    return values[0] if values else None


async def edge_caller(request: Request) -> Caller | None:
    """FastAPI dependency: the bearer's caller, None when anonymous; 401 for a bad token."""
    authorization = _authorization(request.headers)
    if authorization is None:
        return None
    try:
        return await verify_bearer(request.app.state.authenticator, authorization)
    except IdentityRefused as exc:
        log.info("bearer token refused: %s", exc.reason)
        raise Unauthorized(f"invalid bearer token: {exc.reason}") from None
    except KeysUnavailable:
        raise Unavailable("token keys are unavailable; try again shortly") from None


async def edge_admin(caller: Annotated[Caller | None, Depends(edge_caller)]) -> Caller:
    if caller is None:
        raise Unauthorized("authentication required")
    if Role.ADMIN not in caller.roles:
        raise Forbidden("requires role admin")
    return caller


def client_forwarding(host: str | None, identity: InternalIdentity) -> dict[str, str]:
    """Headers the subgraphs get about the client: its address as we saw it, signed.

    Sent even when the address is unknown: the signature is also how a subgraph knows the
    request came through the gateway (only then does it answer `_entities`).
    """
    return {CLIENT_HEADER: identity.sign_client(host or "unknown")}
