"""The order service wired to the contract fakes: one shared world, services built on demand.

Building a second `OrderService` over the same world is a restart: the same instance id (so
it may resume its own sagas at once), the same order_db and the same peers. Another
`instance` stands for a sibling instance, which must wait for leases to lapse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import fakeredis
from mongomock_motor import AsyncMongoMockClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from estore.kit.clients import BreakerPolicy, ClientRegistry, RetryPolicy
from estore.kit.events import Event, EventBus
from estore.kit.faults import Faults
from estore.kit.identity import Caller, InternalIdentity, Role, caller_headers
from estore.kit.transport import InProcessTransport
from estore.services.order.app import assemble_service, peers_over
from estore.services.order.context import Checkpoint, no_checkpoint
from estore.services.order.models import CheckoutRequest, SagaStatus
from estore.services.order.repository import OrderRepository
from estore.services.order.service import OrderService
from estore.services.order.settings import OrderSettings
from tests.unit.order.fakes import FakeCoupons, FakePayments, FakeProducts, ShiftedClock

ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
BOB = Caller(user_id="bob", email="bob@example.com", roles=frozenset({Role.CUSTOMER}))
ADMIN = Caller(user_id="root", email="root@example.com", roles=frozenset({Role.ADMIN}))
SUPPORT = Caller(user_id="help", email="help@example.com", roles=frozenset({Role.SUPPORT}))
GOOD_CARD = "4242424242424242"
POOR_CARD = "4000000000009995"

MERCHANT_KEY = "m" * 32
SETTINGS = OrderSettings(
    internal_signing_key=SecretStr("k" * 32),
    request_deadline_seconds=0.5,
    payment_deadline_seconds=0.05,
    compensation_backoff_seconds=0.001,
    cancel_window_seconds=600,
)


@dataclass
class World:
    products: FakeProducts = field(default_factory=FakeProducts)
    coupons: FakeCoupons = field(default_factory=FakeCoupons)
    payments: FakePayments = field(default_factory=FakePayments)
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    faults: Faults = field(default_factory=lambda: Faults(seed=7))
    settings: OrderSettings = SETTINGS
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    db: Any = field(default_factory=lambda: AsyncMongoMockClient(tz_aware=True)["order_db"])
    redis: Any = field(default_factory=fakeredis.aioredis.FakeRedis)
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bus = EventBus("order", self.redis, self.db, self.clock)
        self.identity = InternalIdentity(b"k" * 32, self.clock, 60)
        self.probe = EventBus("probe", self.redis, self.db.client["probe_db"], self.clock)
        for name in ("order:created", "order:confirmed", "order:cancelled"):
            self.probe.subscribe(name, self._record)

    async def _record(self, event: Event) -> None:
        self.events.append(event)

    async def published(self) -> list[tuple[str, str]]:
        """(event type, order id) of every order event published so far."""
        await self.bus.drain()
        await self.probe.drain()
        return [(e.type, e.data["order_id"]) for e in self.events]

    def clients(self) -> ClientRegistry:
        apps = {
            "product": self.products.app(),
            "coupon": self.coupons.app(),
            "payment": self.payments.app(),
        }
        return ClientRegistry(
            {name: (f"http://{name}", InProcessTransport(app)) for name, app in apps.items()},
            clock=self.clock,
            registry=CollectorRegistry(),
            faults=self.faults,
            header_providers=[caller_headers],
            deadline=self.settings.request_deadline_seconds,
            retry=RetryPolicy(backoff=0.001, max_backoff=0.002),
            breaker=self.breaker,
        )

    async def service(
        self, checkpoint: Checkpoint = no_checkpoint, instance: str = "order-a"
    ) -> OrderService:
        """A freshly started order service (indexes made, nothing recovered yet)."""
        service = assemble_service(
            settings=self.settings,
            db=self.db,
            peers=peers_over(self.clients(), self.settings, MERCHANT_KEY),
            bus=self.bus,
            clock=self.clock,
            identity=self.identity,
            owner=instance,
            checkpoint=checkpoint,
        )
        await service.ensure_indexes()
        return service

    def repository(self) -> OrderRepository:
        """The order store as any instance sees it."""
        return OrderRepository(self.db)

    async def unfinished_sagas(self) -> list[str]:
        query = {"status": {"$in": [SagaStatus.RUNNING.value, SagaStatus.COMPENSATING.value]}}
        return [doc["_id"] async for doc in self.db["sagas"].find(query)]

    async def confirmed_total(self) -> int:
        total = 0
        async for doc in self.db["orders"].find({"status": "CONFIRMED"}):
            total += doc["total"]["amount"]
        return total

    async def assert_invariants(self, initial_stock: dict[str, int]) -> None:
        """Stock conserved, money matches confirmed orders, limits kept, no saga in flight."""
        for product_id, stock in initial_stock.items():
            p = self.products.products[product_id]
            available = p["stock"] - p["reserved"]
            assert stock == available + p["reserved"] + p["sold"], product_id
            assert available >= 0, product_id
        held = [r for r in self.products.reservations.values() if r["status"] == "HELD"]
        assert held == [], "no stock may stay held once every saga has ended"
        charged = self.payments.charged() - self.payments.refunded()
        assert charged == await self.confirmed_total()
        for code, coupon in self.coupons.coupons.items():
            assert self.coupons.count(code) <= coupon["limit"], code
        assert await self.unfinished_sagas() == []


def checkout(
    *lines: tuple[str, int],
    key: str = "key-0001",
    coupon: str | None = None,
    card: str = GOOD_CARD,
) -> CheckoutRequest:
    return CheckoutRequest(
        items=[{"product_id": p, "quantity": q} for p, q in lines],  # type: ignore[misc]
        coupon_code=coupon,
        card_number=card,
        idempotency_key=key,
    )


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the saga catches it."""


def crash_at(point: str) -> Callable[[str], Awaitable[None]]:
    async def checkpoint(reached: str) -> None:
        if reached == point:
            raise Crash(point)

    return checkpoint
