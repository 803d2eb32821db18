"""The ticket service over kit fakes and a contract fake of the order service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fakeredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clients import RetryPolicy, ServiceClient
from estore.kit.clock import FakeClock
from estore.kit.events import EventBus
from estore.kit.faults import Faults
from estore.kit.identity import (
    CALLER_HEADER,
    STAFF,
    Caller,
    IdentityRefused,
    InternalIdentity,
    Role,
    caller_headers,
)
from estore.kit.transport import InProcessTransport
from estore.services.ticket.chat import ChatHub
from estore.services.ticket.peers import OrderPeer
from estore.services.ticket.repository import TicketRepository
from estore.services.ticket.service import TicketService
from estore.services.ticket.settings import TicketSettings

ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
BOB = Caller(user_id="bob", email="bob@example.com", roles=frozenset({Role.CUSTOMER}))
AGENT = Caller(user_id="agent", email="agent@example.com", roles=frozenset({Role.SUPPORT}))
ADMIN = Caller(user_id="root", email="root@example.com", roles=frozenset({Role.ADMIN}))

SETTINGS = TicketSettings.load(internal_signing_key="k" * 32, reopen_window_seconds=3600)


def fake_order_service(internal: InternalIdentity, owners: dict[str, str]) -> FastAPI:
    """GET /api/v1/orders/{id} as agreed: 200 for its owner or staff, 404 for anyone else."""
    app = FastAPI()

    @app.get("/api/v1/orders/{order_id}")
    async def order(order_id: str, request: Request) -> JSONResponse:
        try:
            caller = internal.verify(request.headers[CALLER_HEADER])
        except (KeyError, IdentityRefused):
            return JSONResponse({"error": {"code": "unauthorized", "message": "who?"}}, 401)
        owner = owners.get(order_id)
        if owner is None or not (owner == caller.user_id or caller.roles & STAFF):
            message = f"order {order_id} not found"
            return JSONResponse({"error": {"code": "not_found", "message": message}}, 404)
        return JSONResponse({"id": order_id, "customer_id": owner, "status": "CONFIRMED"})

    return app


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    faults: Faults = field(default_factory=lambda: Faults(seed=3))
    owners: dict[str, str] = field(default_factory=lambda: {"o-alice": "alice", "o-bob": "bob"})
    db: Any = field(default_factory=lambda: AsyncMongoMockClient(tz_aware=True)["ticket_db"])
    redis: Any = field(default_factory=lambda: fakeredis.aioredis.FakeRedis())
    published: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.internal = InternalIdentity(b"k" * 32, self.clock, 60)
        self.orders = ServiceClient(
            "order",
            "http://order",
            InProcessTransport(fake_order_service(self.internal, self.owners)),
            clock=self.clock,
            faults=self.faults,
            header_providers=[caller_headers],
            # One attempt: retries would sleep on the fake clock, which nobody advances.
            retry=RetryPolicy(attempts=1),
        )
        self.bus = EventBus("ticket", self.redis, self.db, self.clock)
        self.hub = ChatHub(self.bus, inbox_limit=8)
        self.repo = TicketRepository(self.db)

    def service(self, **settings: Any) -> TicketService:
        config = SETTINGS.model_copy(update=settings)

        async def publish(message: Any) -> None:
            self.published.append(message)
            await self.hub.publish(message)

        return TicketService(
            self.repo, OrderPeer(self.orders, self.internal), publish, self.clock, config
        )
