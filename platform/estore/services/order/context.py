"""Saga context: what the checkout and cancellation runners share (stores, peers, time)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from estore.kit.clock import Clock
from estore.kit.events import EventBus
from estore.kit.identity import Caller, InternalIdentity, Role
from estore.services.order import events
from estore.services.order.models import Saga
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
class SagaContext:
    """What every saga runner needs; `checkpoint` is awaited at each point a crash can hit."""

    repo: OrderRepository
    peers: Peers
    bus: EventBus
    clock: Clock
    settings: OrderSettings
    identity: InternalIdentity
    owner: str
    checkpoint: Checkpoint = field(default=no_checkpoint)

    async def announce(self, order_id: str) -> None:
        """Tell live watchers (the gateway's orderStatusChanged) the order's new status.

        Pub/sub may lose a notice, which is fine for a live view: the order itself is durable.
        """
        order = await self.repo.get(order_id)
        if order is None:
            return
        notice = events.order_status(order, self.clock.now())
        try:
            await self.bus.notify(events.ORDER_STATUS_CHANNEL, notice)
        except Exception as exc:
            log.warning("order.status_notice_failed", order_id=order_id, error=str(exc))

    async def save(self, saga: Saga) -> None:
        now = self.clock.now()
        saga.updated_at = now
        saga.owner = self.owner
        saga.lease_until = now + timedelta(seconds=self.settings.saga_lease_seconds)
        await self.repo.save_saga(saga)

    def charge_key(self, saga: Saga) -> str:
        return f"order:{saga.order_id}:charge"

    async def refund_charge(self, saga: Saga) -> None:
        """Refund whatever the order's charge key took and has not yet given back."""
        charge = await self.peers.payment.find(self.charge_key(saga))
        if charge is None or charge.get("status") != "SUCCEEDED":
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
