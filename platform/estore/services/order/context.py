"""Saga context: what the checkout and cancellation steps share — the store, the peers, time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from estore.kit.clock import Clock
from estore.kit.events import EventBus
from estore.kit.identity import Caller, InternalIdentity, Role
from estore.services.order import events
from estore.services.order.models import Order, OrderItem, Saga
from estore.services.order.peers import CouponPeer, PaymentPeer, PeerUnavailable, ProductPeer
from estore.services.order.repository import OrderRepository
from estore.services.order.settings import OrderSettings

log = structlog.get_logger()

Checkpoint = Callable[[str], Awaitable[None]]

# The order service itself, for calls that are its own business rather than the customer's:
# compensations and restocking (which the product service grants to admins and services).
SYSTEM = Caller(
    user_id="service:order", email="order@estore.internal", roles=frozenset({Role.ADMIN})
)


async def no_checkpoint(point: str) -> None:
    return None


@dataclass
class Peers:
    product: ProductPeer
    coupon: CouponPeer
    payment: PaymentPeer


@dataclass
class SagaStore:
    """Saga persistence: sagas and the orders they write; every save renews our lease."""

    repo: OrderRepository
    clock: Clock
    owner: str
    lease_seconds: float

    async def save(self, saga: Saga) -> None:
        now = self.clock.now()
        saga.updated_at = now
        saga.owner = self.owner
        saga.lease_until = self._lease_end(now)
        await self.repo.save_saga(saga)

    async def lease(self, saga_id: str) -> Saga | None:
        """Become the saga's runner; None if it is finished or another instance holds it."""
        now = self.clock.now()
        return await self.repo.lease_saga(saga_id, self.owner, now, self._lease_end(now))

    async def unfinished(self) -> list[str]:
        return await self.repo.unfinished_saga_ids()

    async def order(self, order_id: str) -> Order | None:
        return await self.repo.get(order_id)

    async def write_order(
        self, order_id: str, changes: dict[str, Any], items: list[OrderItem] | None = None
    ) -> None:
        """Set the order's fields, and first its priced lines when `items` is given."""
        if items is not None:
            await self.repo.record_items(order_id, items)
        await self.repo.update(order_id, changes)

    def _lease_end(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)


@dataclass
class SagaContext:
    """What every saga step calls; `checkpoint` is awaited at each point a crash can hit."""

    store: SagaStore
    peers: Peers
    bus: EventBus
    clock: Clock
    settings: OrderSettings
    identity: InternalIdentity
    checkpoint: Checkpoint = field(default=no_checkpoint)

    async def announce(self, order_id: str) -> None:
        """Tell live watchers (the gateway's orderStatusChanged) the order's new status.

        Pub/sub may lose a notice, which is fine for a live view: the order itself is durable.
        """
        order = await self.store.order(order_id)
        if order is None:
            return
        notice = events.order_status(order, self.clock.now())
        try:
            await self.bus.notify(notice.NAME, notice.data())
        except Exception as exc:
            log.warning("order.status_notice_failed", order_id=order_id, error=str(exc))

    def charge_key(self, saga: Saga) -> str:
        return f"order:{saga.order_id}:charge"

    async def refund_charge(self, saga: Saga) -> None:
        """Refund whatever the order's charge key took and has not yet given back.

        The key is voided first, so a charge still on its way cannot land after the refund.
        """
        charge = await self.peers.payment.void(self.charge_key(saga))
        if charge.get("status") != "SUCCEEDED":
            return
        if int(charge.get("refunded", 0)) >= int(charge["amount"]):
            return
        await self.peers.payment.refund(charge["id"], f"order:{saga.order_id}:refund")

    async def retrying(self, action: Callable[[], Awaitable[None]]) -> bool:
        """Run an idempotent undo a few times; False leaves it to the sweeper."""
        for attempt in range(self.settings.compensation_attempts):
            try:
                await action()
                return True
            except PeerUnavailable as exc:
                log.warning("order.saga_undo_failed", error=str(exc), attempt=attempt)
                await self.clock.sleep(self.settings.compensation_backoff_seconds * 2**attempt)
        return False
