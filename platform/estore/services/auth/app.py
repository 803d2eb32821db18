"""Auth service app: wires the repository, token issuer and limiter into the kit's app."""

from __future__ import annotations

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.identity import KeyRing, Revocations, TokenIssuer
from estore.kit.infra import Infra
from estore.kit.ratelimit import Backoff, RateLimiter
from estore.services.auth import routes
from estore.services.auth.repository import AuthRepository
from estore.services.auth.schema import build_schema
from estore.services.auth.service import AuthService
from estore.services.auth.settings import AuthSettings


def create_app(infra: Infra[AuthSettings]) -> FastAPI:
    settings = infra.settings
    settings.require_secrets("jwt_private_key")
    assert settings.jwt_private_key is not None
    repo = AuthRepository(infra.db)
    issuer = TokenIssuer(
        keys=KeyRing.from_pem(settings.jwt_private_key.get_secret_value()),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=infra.clock,
        access_ttl=settings.jwt_access_ttl_seconds,
    )
    service = AuthService(
        repo,
        issuer,
        RateLimiter(infra.redis, infra.clock, "auth:login"),
        Backoff(infra.redis, infra.clock, "auth:login-backoff"),
        Revocations(infra.redis, infra.clock),
        infra.bus,
        infra.clock,
        settings,
    )
    return create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        root_routers=[routes.well_known],
        schema=build_schema(),
        on_startup=[repo.ensure_indexes],
    )
