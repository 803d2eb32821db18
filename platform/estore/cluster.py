"""The one module that knows every service: assembles them in-process or served on their ports."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from estore.gateway.app import create_app as create_gateway_app
from estore.gateway.settings import GatewaySettings
from estore.kit.app import app_service
from estore.kit.bootstrap import Wiring, build_infra, http_transport
from estore.kit.identity import CALLER_HEADER, CLIENT_HEADER, Caller, InternalIdentity, KeyRing
from estore.kit.infra import Infra, S
from estore.kit.transport import InProcessTransport
from estore.services.auth.app import create_app as create_auth_app
from estore.services.auth.settings import AuthSettings
from estore.services.category.app import create_app as create_category_app
from estore.services.category.settings import CategorySettings
from estore.services.coupon.app import create_app as create_coupon_app
from estore.services.coupon.settings import CouponSettings
from estore.services.order.app import create_app as create_order_app
from estore.services.order.settings import OrderSettings
from estore.services.payment.app import create_app as create_payment_app
from estore.services.payment.settings import PaymentSettings
from estore.services.product.app import create_app as create_product_app
from estore.services.product.settings import ProductSettings
from estore.services.ticket.app import create_app as create_ticket_app
from estore.services.ticket.settings import TicketSettings

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceSpec(Generic[S]):
    """A service: its settings class and the app factory that takes exactly those settings."""

    name: str
    settings: type[S]
    create_app: Callable[[Infra[S]], FastAPI]
    dependencies: tuple[str, ...] = ()
    # Dependencies outside our network (the card processor): no signed caller goes there.
    external: tuple[str, ...] = ()


SERVICES: dict[str, ServiceSpec[Any]] = {
    spec.name: spec
    for spec in (
        ServiceSpec("auth", AuthSettings, create_auth_app),
        ServiceSpec("product", ProductSettings, create_product_app, dependencies=("category",)),
        ServiceSpec("category", CategorySettings, create_category_app, dependencies=("product",)),
        ServiceSpec("coupon", CouponSettings, create_coupon_app),
        ServiceSpec("payment", PaymentSettings, create_payment_app),
        ServiceSpec(
            "order",
            OrderSettings,
            create_order_app,
            dependencies=("product", "coupon", "payment"),
            external=("payment",),
        ),
        ServiceSpec("ticket", TicketSettings, create_ticket_app, dependencies=("order",)),
        ServiceSpec(
            "gateway",
            GatewaySettings,
            create_gateway_app,
            dependencies=("auth", "product", "order", "category", "coupon"),
        ),
    )
}


def cluster_secrets() -> dict[str, str]:
    """Fresh secrets for one embedded cluster: token signing, internal and merchant keys."""
    return {
        "jwt_private_key": KeyRing.generate().signing.private_pem(),
        "internal_signing_key": secrets.token_urlsafe(32),
        "payment_secret_key": secrets.token_urlsafe(32),
    }


def build_service(
    spec: ServiceSpec[S], wiring: Wiring, **overrides: Any
) -> tuple[FastAPI, Infra[S]]:
    infra = build_infra(spec.settings.load(**overrides), spec.dependencies, wiring, spec.external)
    return spec.create_app(infra), infra


class _AppRef:
    """An ASGI app that forwards to a cluster member looked up at call time.

    Clients are built before every app exists, so they hold this reference, not the app.
    """

    def __init__(self, cluster: Cluster, name: str) -> None:
        self._cluster = cluster
        self._name = name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._cluster.apps[self._name](scope, receive, send)


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to its owner: several share one process."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Cluster:
    """The services on one set of stores: in-process (no sockets) or served on their ports."""

    def __init__(
        self,
        wiring: Wiring | None = None,
        *,
        services: Iterable[str] | None = None,
        served: bool = False,
        overrides: Mapping[str, Any] | None = None,
        ports: Mapping[str, int] | None = None,
    ) -> None:
        self.wiring = wiring or Wiring()
        self.served = served
        if not served:
            self.wiring.transport_for = lambda name: InProcessTransport(_AppRef(self, name))
        else:
            self.wiring.transport_for = http_transport
        names = list(services or SERVICES)
        unknown = set(names) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {sorted(SERVICES)}")
        ports = dict(ports or {})
        urls = {f"{name}_service_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
        shared = {**cluster_secrets(), **urls, **(overrides or {})}
        self.apps: dict[str, FastAPI] = {}
        self.infras: dict[str, Infra] = {}
        for name in names:
            own = {"port": ports[name]} if name in ports else {}
            self.apps[name], self.infras[name] = build_service(
                SERVICES[name], self.wiring, **shared, **own
            )
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        """Run every app's start-up (indexes, consumers, sweepers), as a server would."""
        for app in self.apps.values():
            await self._stack.enter_async_context(app.router.lifespan_context(app))

    async def stop(self) -> None:
        await self._stack.aclose()
        self._stack = AsyncExitStack()

    async def reset(self) -> None:
        """Empty the fake stores and run start-up again, so each test begins from nothing."""
        await self.stop()
        await self.wiring.stores.reset()
        await self.start()

    def service(self, name: str, kind: type[T]) -> T:
        """One service's use cases, typed: `cluster.service("order", OrderService)`."""
        return app_service(self.apps[name], kind)

    def caller_headers(self, caller: Caller) -> dict[str, str]:
        """The header a peer service or the gateway sends on `caller`'s behalf.

        Every service signs with the cluster's one internal key, so any service's identity will do.
        """
        return {CALLER_HEADER: self._internal_identity().sign(caller)}

    def client_headers(self, address: str) -> dict[str, str]:
        """The header the gateway sends for an anonymous shopper: the client's address, signed."""
        return {CLIENT_HEADER: self._internal_identity().sign_client(address)}

    def _internal_identity(self) -> InternalIdentity:
        return next(iter(self.infras.values())).internal_identity

    def client(self, name: str, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client to one service: in-process, or over loopback when served."""
        settings = self.infras[name].settings
        if self.served:
            return httpx.AsyncClient(base_url=f"http://{settings.host}:{settings.port}", **kwargs)
        transport = InProcessTransport(self.apps[name])
        return httpx.AsyncClient(transport=transport, base_url=f"http://{name}", **kwargs)

    async def _warm_up(self) -> dict[str, int]:
        """Ask every served app whether it is ready; a gateway composes on its first probe."""
        statuses: dict[str, int] = {}
        for name in self.apps:
            async with self.client(name) as client:
                statuses[name] = (await client.get("/health/ready")).status_code
        return statuses

    async def serve(self, host: str = "127.0.0.1", ready: asyncio.Event | None = None) -> None:
        """Serve every app on its port until cancelled; lifespans run once, here.

        Signals are the caller's business (the CLI cancels this on Ctrl-C).
        """
        servers = [
            _QuietServer(
                uvicorn.Config(
                    app,
                    host=host,
                    port=self.infras[name].settings.port,
                    lifespan="off",
                    log_level="warning",
                    # Uvicorn's own lines go through the process's JSON logging, not its own.
                    log_config=None,
                    access_log=False,
                    # Peers are who they are: only the gateway's signed header names a client.
                    proxy_headers=False,
                )
            )
            for name, app in self.apps.items()
        ]
        await self.start()
        tasks = [asyncio.create_task(s.serve()) for s in servers]
        try:
            while not all(s.started for s in servers):
                if any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.02)
            failed = [t for t in tasks if t.done()]
            if failed:
                failed[0].result()
                raise RuntimeError("a service stopped during start-up (is its port taken?)")
            await self._warm_up()
            if ready is not None:
                ready.set()
            await asyncio.gather(*tasks)
        finally:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.stop()
