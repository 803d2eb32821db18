"""Cancellation saga: refund, put the stock back, release the coupon, mark CANCELLED, announce.

Cancelling only moves forward: each step is idempotent and is retried until it succeeds, by
the request that started it or later by the sweeper, so a cancellation once accepted always
completes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from estore.kit.identity import acting_as
from estore.services.order import events
from estore.services.order.context import SYSTEM, SagaContext
from estore.services.order.models import OrderStatus, Saga, SagaStatus


class Step(NamedTuple):
    name: str
    action: Callable[[SagaContext, Saga], Awaitable[None]]


class CancelSaga:
    def __init__(self, ctx: SagaContext) -> None:
        self._ctx = ctx

    async def run(self, saga: Saga) -> Saga:
        """Run the remaining steps; the saga stays RUNNING if a peer does not answer."""
        ctx = self._ctx
        with acting_as(SYSTEM, ctx.identity):
            while saga.status is SagaStatus.RUNNING:
                step = STEPS[saga.step]
                await ctx.checkpoint(f"before:{step.name}")
                if not await ctx.retrying(lambda step=step: step.action(ctx, saga)):  # type: ignore[misc]
                    await ctx.store.save(saga)
                    return saga
                saga.step += 1
                if saga.step == len(STEPS):
                    saga.status = SagaStatus.COMPLETED
                await ctx.store.save(saga)
                await ctx.checkpoint(f"after:{step.name}")
        return saga


async def refund(ctx: SagaContext, saga: Saga) -> None:
    await ctx.refund_charge(saga)


async def restock(ctx: SagaContext, saga: Saga) -> None:
    if saga.reservation_id is not None:
        await ctx.peers.product.restock(saga.reservation_id)


async def release_coupon(ctx: SagaContext, saga: Saga) -> None:
    if saga.coupon_code:
        await ctx.peers.coupon.release(saga.order_id)


async def finish(ctx: SagaContext, saga: Saga) -> None:
    now = ctx.clock.now()
    await ctx.store.write_order(
        saga.order_id,
        {
            "status": OrderStatus.CANCELLED.value,
            "cancelled_at": now,
            "cancel_reason": saga.cancel_reason,
            "updated_at": now,
        },
    )
    order = await ctx.store.order(saga.order_id)
    assert order is not None
    await ctx.bus.emit(events.order_cancelled(order))
    await ctx.announce(saga.order_id)


STEPS: tuple[Step, ...] = (
    Step("refund", refund),
    Step("restock", restock),
    Step("release_coupon", release_coupon),
    Step("finish", finish),
)
