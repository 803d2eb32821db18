"""Gateway service app on :3000: GraphQL over HTTP and WebSocket around the federation engine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from estore.gateway.edge import DropClientIdentity, edge_admin, token_expiry, verify_bearer
from estore.gateway.errors import CompositionError
from estore.gateway.http import graphql_http_router
from estore.gateway.runtime import GatewayRuntime, GraphClients, SubgraphsUnavailable
from estore.gateway.settings import GatewaySettings
from estore.gateway.subscriptions import OrderStatusHub
from estore.gateway.ws import PROTOCOL, Closed, Connection, Session
from estore.kit.app import create_service_app
from estore.kit.bootstrap import http_transport
from estore.kit.clients import ClientRegistry, DependencyError
from estore.kit.errors import Conflict, Unavailable
from estore.kit.identity import STAFF, Caller, IdentityRefused, acting_as, caller_headers
from estore.kit.infra import Infra
from estore.kit.observability import trace_headers

TYPENAME_PROBE = {"query": "{ __typename }"}


class _StarletteSocket:
    """The protocol's Socket over a Starlette WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def receive_text(self) -> str:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise Closed
        if message.get("text") is not None:
            return str(message["text"])
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def send_text(self, data: str) -> None:
        try:
            await self._websocket.send_text(data)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise Closed from exc

    async def close(self, code: int, reason: str) -> None:
        try:
            await self._websocket.close(code, reason)
        except (RuntimeError, OSError):
            pass  # already gone


def _websocket_router(
    runtime: GatewayRuntime, hub: OrderStatusHub, infra: Infra[GatewaySettings]
) -> APIRouter:
    settings = infra.settings
    router = APIRouter(include_in_schema=False)

    async def authenticate(payload: Mapping[str, Any]) -> Session:
        value = payload.get("authorization", payload.get("Authorization"))
        if not isinstance(value, str):
            raise IdentityRefused("send {'authorization': 'Bearer <token>'} in connection_init")
        caller = await verify_bearer(infra.authenticator, value)
        return Session(caller, token_expiry(value))

    async def may_watch_order(caller: Caller, order_id: str) -> bool:
        if caller.roles & STAFF:
            return True
        # The order service decides: it answers 404 for an order that is not the caller's.
        with acting_as(caller, infra.internal_identity):
            response = await infra.clients["order"].get(
                f"/api/v1/orders/{quote(order_id, safe='')}"
            )
        if response.status_code not in (200, 404):
            raise RuntimeError(f"the order service answered {response.status_code}")
        return response.status_code == 200

    @router.websocket("/graphql")
    async def graphql_ws(websocket: WebSocket) -> None:
        if PROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(4406, "Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        connection = Connection(
            _StarletteSocket(websocket),
            runtime=runtime,
            hub=hub,
            authenticate=authenticate,
            may_watch_order=may_watch_order,
            client_host=websocket.client.host if websocket.client else None,
            identity=infra.internal_identity,
            clock=infra.clock,
            init_timeout=settings.gateway_ws_init_timeout_seconds,
            max_operations=settings.gateway_ws_max_subscriptions,
        )
        await connection.serve()

    return router


def _admin_router(runtime: GatewayRuntime) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/admin/recompose")
    async def recompose(_: Annotated[Caller, Depends(edge_admin)]) -> dict[str, Any]:
        try:
            await runtime.compose()
        except CompositionError as exc:
            message = f"subgraphs do not compose; serving the previous schema: {exc}"
            raise Conflict(message) from None
        except SubgraphsUnavailable as exc:
            raise Unavailable(str(exc)) from None
        return {"status": "composed", "subgraphs": list(runtime.subgraphs)}

    return router


def _health_details(
    runtime: GatewayRuntime, infra: Infra[GatewaySettings]
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """/health reports whether the gateway is composed and each subgraph's liveness."""
    settings = infra.settings

    async def probe(name: str) -> str:
        deadline = settings.gateway_health_timeout_seconds
        try:
            if settings.serves_any_graph:  # any graph's subgraph answers GraphQL, not /health
                response = await runtime.client(name).post(
                    "", json=TYPENAME_PROBE, idempotent=False, deadline=deadline
                )
            else:
                response = await infra.clients[name].get(
                    "/health", idempotent=False, deadline=deadline
                )
        except DependencyError as exc:
            return f"down: {exc.reason}"
        except Exception as exc:  # an absent in-process peer, a broken transport
            return f"down: {type(exc).__name__}"
        return "up" if response.status_code == 200 else f"down: answered {response.status_code}"

    async def details() -> dict[str, Any]:
        names = runtime.subgraphs
        states = [await probe(name) for name in names]
        return {
            "composed": runtime.gateway is not None,
            "subgraphs": dict(zip(names, states, strict=True)),
        }

    return details


def _graph_clients(infra: Infra[GatewaySettings]) -> GraphClients:
    """Clients for a supergraph's subgraphs, with our deadlines, breakers, metrics and faults."""

    def build(urls: Mapping[str, str]) -> ClientRegistry:
        return ClientRegistry(
            {name: (url, http_transport(name)) for name, url in urls.items()},
            clock=infra.clock,
            registry=infra.telemetry.registry,
            metrics=infra.clients.metrics,
            faults=infra.clients.faults,
            header_providers=[caller_headers, trace_headers],
            deadline=infra.settings.request_deadline_seconds,
        )

    return build


def create_app(infra: Infra[GatewaySettings]) -> FastAPI:
    settings = infra.settings
    runtime = GatewayRuntime(settings, infra.clients, _graph_clients(infra))
    hub = OrderStatusHub(infra.bus, infra.clock)

    async def composed() -> None:
        await runtime.current()

    async def live_notices() -> None:
        if not hub.listening:
            raise ConnectionError("not listening for order status notices (Redis away?)")

    app = create_service_app(
        infra,
        service=runtime,
        root_routers=[
            graphql_http_router(runtime, infra.internal_identity),
            _websocket_router(runtime, hub, infra),
            _admin_router(runtime),
        ],
        schema=None,
        on_startup=[runtime.start, hub.start, lambda: runtime.start_watching(infra.clock)],
        on_shutdown=[hub.stop, runtime.stop_watching],
        checks={"composed": composed, "order_status": live_notices},
        health_details=_health_details(runtime, infra),
    )
    app.add_middleware(DropClientIdentity)
    app.state.runtime = runtime
    app.state.hub = hub
    return app
