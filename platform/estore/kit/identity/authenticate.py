"""Who is calling this service: the Authenticator and the FastAPI dependencies built on it.

A service's app must set `app.state.authenticator` to an `Authenticator` (the kit's app
factory does); the dependencies below find it there.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from estore.kit.identity.caller import Caller, IdentityRefused, KeysUnavailable, Role
from estore.kit.identity.context import acting_as
from estore.kit.identity.internal import CALLER_HEADER, CLIENT_HEADER, InternalIdentity
from estore.kit.identity.tokens import JwksVerifier

log = logging.getLogger(__name__)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_REFUSED_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
_KEYS_RETRY_AFTER_SECONDS = 5


class Authenticator:
    """Finds the caller in request headers: forwarded internal identity first, then bearer."""

    def __init__(self, internal: InternalIdentity, verifier: JwksVerifier | None = None) -> None:
        """Without a verifier, bearer tokens are ignored: the service trusts only the gateway."""
        self.internal = internal
        self.verifier = verifier

    async def authenticate(self, headers: Mapping[str, str]) -> Caller | None:
        """The caller, or None when anonymous; IdentityRefused for any bad credential.

        A present but bad internal header is refused outright, never treated as absent:
        falling back would let a forger downgrade to whatever the bearer token says.
        """
        forwarded = _single_header(headers, CALLER_HEADER)
        if forwarded is not None:
            return self.internal.verify(forwarded)
        authorization = _single_header(headers, "Authorization")
        if authorization is None or self.verifier is None:
            return None
        return await self.verifier.verify(_bearer_token(authorization))

    def from_a_service(self, headers: Mapping[str, str]) -> bool:
        """Whether a peer service vouches for this request: a signed caller or client header.

        The gateway always signs the client's address, so even an anonymous shopper's
        request reaches a subgraph vouched for; a client calling a subgraph directly cannot.
        A caller header is only checked for presence: `authenticate` refused a bad one.
        """
        if _single_header(headers, CALLER_HEADER) is not None:
            return True
        vouched = _single_header(headers, CLIENT_HEADER)
        if vouched is None:
            return False
        try:
            self.internal.verify_client(vouched)
        except IdentityRefused:
            return False
        return True


def _single_header(headers: Mapping[str, str], name: str) -> str | None:
    # Starlette's items() yields repeated headers; two values would make "which one" ambiguous.
    wanted = name.lower()
    values = [value for key, value in headers.items() if key.lower() == wanted]
    if len(values) > 1:
        raise IdentityRefused(f"{name} header repeated")
    return values[0] if values else None


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise IdentityRefused("authorization scheme is not Bearer")
    if not token.strip():
        raise IdentityRefused("bearer token: empty")
    return token.strip()


def _authenticator(request: HTTPConnection) -> Authenticator:
    authenticator = getattr(request.app.state, "authenticator", None)
    if not isinstance(authenticator, Authenticator):
        raise RuntimeError("app.state.authenticator must be set to an Authenticator")
    return authenticator


async def current_caller(request: HTTPConnection) -> AsyncIterator[Caller | None]:
    """Dependency (HTTP or WebSocket): the caller or None, made current so outgoing calls
    forward it."""
    authenticator = _authenticator(request)
    try:
        caller = await authenticator.authenticate(request.headers)
    except IdentityRefused as exc:
        log.info("identity refused: %s", exc.reason)
        raise HTTPException(401, "invalid credentials", headers=_REFUSED_CHALLENGE) from None
    except KeysUnavailable:
        retry = {"Retry-After": str(_KEYS_RETRY_AFTER_SECONDS)}
        raise HTTPException(503, "token keys unavailable", headers=retry) from None
    with acting_as(caller, authenticator.internal):
        yield caller


async def require_caller(caller: Annotated[Caller | None, Depends(current_caller)]) -> Caller:
    """Dependency: the caller; 401 when anonymous."""
    if caller is None:
        raise HTTPException(401, "authentication required", headers=_CHALLENGE)
    return caller


def require_role(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """Dependency factory: the caller if it holds any of `roles`; 401 anonymous, 403 otherwise."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    allowed = frozenset(roles)
    needed = " or ".join(sorted(allowed))

    async def caller_with_role(caller: Annotated[Caller, Depends(require_caller)]) -> Caller:
        if caller.roles.isdisjoint(allowed):
            raise HTTPException(403, f"requires role {needed}")
        return caller

    return caller_with_role


def require_service_or_role(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """Dependency factory for service-to-service routes: another service, or a role holder.

    A request from a service carries the signed caller header (the Authenticator verified it,
    or refused the request); an end user's bearer token alone is not enough, so a customer
    cannot drive a checkout step (hold stock, redeem a coupon) outside a checkout.
    """
    allowed = frozenset(roles)

    async def service_or_role(
        request: Request, caller: Annotated[Caller, Depends(require_caller)]
    ) -> Caller:
        if CALLER_HEADER.lower() in request.headers or not caller.roles.isdisjoint(allowed):
            return caller
        raise HTTPException(403, "only other services may call this route")

    return service_or_role
