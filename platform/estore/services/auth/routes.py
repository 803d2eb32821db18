"""Auth REST routes under /api/v1, and the JWKS at /.well-known/jwks.json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from estore.kit.deps import client_address, service_of
from estore.kit.errors import Forbidden
from estore.kit.identity import STAFF, Caller, require_caller
from estore.services.auth.models import (
    Credentials,
    PublicUser,
    RefreshRequest,
    Registration,
    TokenPair,
)
from estore.services.auth.service import AuthService

Service = Annotated[AuthService, Depends(service_of)]
CurrentCaller = Annotated[Caller, Depends(require_caller)]

router = APIRouter(tags=["auth"])
well_known = APIRouter(tags=["auth"])

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Credentials or token not valid"}
}


@router.post("/auth/register", status_code=201, responses={409: {"description": "Email taken"}})
async def register(form: Registration, service: Service) -> TokenPair:
    return await service.register(form)


@router.post("/auth/login", responses={**UNAUTHORIZED, 429: {"description": "Too many attempts"}})
async def login(credentials: Credentials, request: Request, service: Service) -> TokenPair:
    return await service.login(credentials, client_address(request))


@router.post("/auth/refresh", responses=UNAUTHORIZED)
async def refresh(body: RefreshRequest, service: Service) -> TokenPair:
    return await service.refresh(body.refresh_token)


@router.post("/auth/logout", status_code=204, responses=UNAUTHORIZED)
async def logout(body: RefreshRequest, service: Service) -> Response:
    await service.logout(body.refresh_token)
    return Response(status_code=204)


@router.get(
    "/auth/me", responses={**UNAUTHORIZED, 404: {"description": "The account no longer exists"}}
)
async def me(caller: CurrentCaller, service: Service) -> PublicUser:
    return await service.me(caller)


@router.get("/users/{user_id}", responses={**UNAUTHORIZED, 404: {"description": "No such user"}})
async def user(user_id: str, caller: CurrentCaller, service: Service) -> PublicUser:
    if user_id != caller.user_id and not caller.roles & STAFF:
        raise Forbidden("only support and admins may read other accounts")
    return await service.user(user_id)


@well_known.get("/.well-known/jwks.json")
async def jwks(service: Service) -> dict[str, Any]:
    return service.issuer.keys.jwks()
