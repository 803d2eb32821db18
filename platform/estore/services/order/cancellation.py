"""Cancellation saga: refund, put the stock back, release the coupon, mark CANCELLED, announce.

Cancelling only moves forward: each step is idempotent and is retried until it succeeds, by
the request that started it or later by the sweeper, so a cancellation once accepted always
completes.
"""

from __future__ import annotations

from estore.kit.identity import acting_as
from estore.services.order import events
from estore.services.order.context import SYSTEM, SagaContext
from estore.services.order.models import OrderStatus, Saga, SagaStatus


class CancelSaga:
    STEPS = ("refund", "restock", "release_coupon", "finish")

    def __init__(self, ctx: SagaContext) -> None:
        self._ctx = ctx

    async def run(self, saga: Saga) -> Saga:
        """Run the remaining steps; the saga stays RUNNING if a peer does not answer."""
        ctx = self._ctx
        with acting_as(SYSTEM, ctx.identity):
            while saga.status is SagaStatus.RUNNING:
                name = self.STEPS[saga.step]
                await ctx.checkpoint(f"before:{name}")
                if not await ctx.retrying(lambda name=name: self._execute(name, saga)):  # type: ignore[misc]
                    await ctx.save(saga)
                    return saga
                saga.step += 1
                if saga.step == len(self.STEPS):
                    saga.status = SagaStatus.COMPLETED
                await ctx.save(saga)
                await ctx.checkpoint(f"after:{name}")
        return saga

    async def _execute(self, name: str, saga: Saga) -> None:
        peers = self._ctx.peers
        if name == "refund":
            await self._ctx.refund_charge(saga)
        elif name == "restock":
            if saga.reservation_id is not None:
                await peers.product.restock(saga.reservation_id)
        elif name == "release_coupon":
            if saga.coupon_code:
                await peers.coupon.release(saga.order_id)
        else:
            await self._finish(saga)

    async def _finish(self, saga: Saga) -> None:
        ctx = self._ctx
        now = ctx.clock.now()
        await ctx.repo.update(
            saga.order_id,
            {
                "status": OrderStatus.CANCELLED.value,
                "cancelled_at": now,
                "cancel_reason": saga.cancel_reason,
                "updated_at": now,
            },
        )
        order = await ctx.repo.get(saga.order_id)
        assert order is not None
        await ctx.bus.publish(events.ORDER_CANCELLED, events.order_cancelled(order))
        await ctx.announce(saga.order_id)
