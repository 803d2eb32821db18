"""The app factory: every service is a FastAPI app with the same health, metrics and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from estore.kit.bodies import BodyGuard
from estore.kit.errors import ErrorResponse, ServiceError, error_payload
from estore.kit.graphql import GRAPHQL_PATH, SubgraphSchema, graphql_router
from estore.kit.infra import Infra
from estore.kit.observability import RouteTemplates, TelemetryMiddleware

Hook = Callable[[], Awaitable[Any]]
Check = Callable[[], Awaitable[None]]
Details = Callable[[], Awaitable[dict[str, Any]]]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "The request is malformed or breaks a rule",
        401: "No valid identity",
        403: "The caller may not do this",
        413: "The body is larger than the service takes",
        422: "The body or parameters fail validation",
    }.items()
}


T = TypeVar("T")


def _trace_id(request: Request) -> str | None:
    traceparent = request.headers.get("traceparent", "")
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 else None


def app_service(app: FastAPI, kind: type[T]) -> T:
    """The use-case object an app was built with, as the type the caller expects."""
    service = app.state.service
    if not isinstance(service, kind):
        raise TypeError(f"{app.title} serves a {type(service).__name__}, not a {kind.__name__}")
    return service


def _install_error_handlers(app: FastAPI, infra: Infra) -> None:
    async def service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        body = error_payload(exc.status, exc.message, code=exc.code, details=exc.details)
        return JSONResponse(body, status_code=exc.status, headers=exc.headers())

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        body = error_payload(exc.status_code, str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in details)
        body = error_payload(422, f"invalid request: {summary}", details=details)
        return JSONResponse(body, status_code=422)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        infra.telemetry.log.error("http.unhandled", path=request.url.path, exc_info=exc)
        body = error_payload(500, "internal error", trace_id=_trace_id(request))
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)


async def _run_check(check: Check) -> str:
    try:
        await asyncio.wait_for(check(), timeout=2.0)
    except Exception as exc:
        return f"down: {type(exc).__name__}: {exc}"[:200]
    return "up"


def _operations_router(
    infra: Infra, checks: dict[str, Check], health_details: Details | None
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    service = infra.settings.service

    @router.get("/health")
    async def health() -> dict[str, Any]:
        details = await health_details() if health_details else {}
        return {"status": "ok", "service": service, **details}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        results = dict(
            zip(checks, await asyncio.gather(*map(_run_check, checks.values())), strict=True)
        )
        healthy = all(r == "up" for r in results.values())
        body = {"status": "ready" if healthy else "unready", "service": service, "checks": results}
        return JSONResponse(body, status_code=200 if healthy else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(infra.telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def create_service_app(
    infra: Infra,
    *,
    service: Any,
    routers: Sequence[APIRouter] = (),
    root_routers: Sequence[APIRouter] = (),
    schema: SubgraphSchema | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    checks: dict[str, Check] | None = None,
    health_details: Details | None = None,
) -> FastAPI:
    """Build a service's app; `service` (its use cases) is what routes and resolvers call.

    `routers` serve under /api/v1; `root_routers` at fixed paths such as /.well-known/.
    `checks` join the store checks of /health/ready; `health_details` adds to /health.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Background tasks started here (consumers, sweepers) keep this context: their lines
        # name the service even when several services share a process.
        with structlog.contextvars.bound_contextvars(service=infra.settings.service):
            for hook in on_startup:
                await hook()
            await infra.bus.start()
        try:
            yield
        finally:
            try:
                await infra.bus.stop()
            finally:
                for hook in on_shutdown:
                    await hook()
                # Served and deployed, each dependency holds a pool of sockets.
                await infra.clients.aclose()

    name = infra.settings.service
    app = FastAPI(title=f"estore {name} service", version="1.0.0", lifespan=lifespan)
    app.state.infra = infra
    app.state.service = service
    app.state.authenticator = infra.authenticator
    _install_error_handlers(app, infra)
    templates = RouteTemplates()

    def include(router: APIRouter, prefix: str = "", **kwargs: Any) -> None:
        app.include_router(router, prefix=prefix, **kwargs)
        templates.add(prefix, router.routes)

    include(_operations_router(infra, infra.readiness_checks() | (checks or {}), health_details))
    for router in routers:
        include(router, "/api/v1", responses=ERROR_RESPONSES)
    for router in root_routers:
        include(router)
    if schema is not None:
        include(graphql_router(schema, service), GRAPHQL_PATH)
    # Inside telemetry, so refused bodies are counted and traced like any other answer.
    app.add_middleware(
        BodyGuard, max_bytes=infra.settings.max_body_bytes, object_paths={GRAPHQL_PATH}
    )
    app.add_middleware(TelemetryMiddleware, telemetry=infra.telemetry, routes=templates)
    return app
