"""Saga recovery: on start-up, and periodically, finish or compensate every unfinished saga."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from estore.services.order.cancellation import CancelSaga
from estore.services.order.context import SagaContext
from estore.services.order.models import Saga, SagaKind, SagaStatus
from estore.services.order.saga import CheckoutSaga

log = structlog.get_logger()


class SagaRunner:
    """Runs sagas, remembering which run in this process so the sweeper leaves them alone."""

    def __init__(self, ctx: SagaContext) -> None:
        self.ctx = ctx
        self.checkout = CheckoutSaga(ctx)
        self.cancel = CancelSaga(ctx)
        self._active: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def run(self, saga: Saga, card_number: str | None = None) -> Saga:
        self._active.add(saga.id)
        try:
            if saga.kind is SagaKind.CANCEL:
                return await self.cancel.run(saga)
            return await self.checkout.run(saga, card_number)
        finally:
            self._active.discard(saga.id)

    async def resume(self, saga_id: str) -> Saga | None:
        """Take a saga's lease and drive it to its end; None if someone else holds it."""
        if saga_id in self._active:
            return None
        store = self.ctx.store
        saga = await store.lease(saga_id)
        if saga is None:
            return None
        if saga.kind is SagaKind.CHECKOUT and await store.order(saga.order_id) is None:
            # Stopped between writing the saga and claiming the order: nothing was done.
            saga.status = SagaStatus.COMPENSATED
            saga.failure_reason = "the checkout stopped before it began"
            await store.save(saga)
            return saga
        return await self.run(saga)

    async def recover(self) -> int:
        """Resume every unfinished saga this instance may run: its own (left behind when it
        stopped, since the instance id outlives the process) and any whose lease lapsed."""
        resumed = 0
        for saga_id in await self.ctx.store.unfinished():
            try:
                if await self.resume(saga_id) is not None:
                    resumed += 1
            except Exception:
                # One saga that cannot move now must not keep the others (or start-up) waiting.
                log.exception("order.saga_recovery_failed", saga_id=saga_id)
        if resumed:
            log.info("order.sagas_recovered", count=resumed)
        return resumed

    async def start(self) -> None:
        await self.recover()
        self._task = asyncio.create_task(self._sweep_loop(), name="order-saga-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_loop(self) -> None:
        while True:
            await self.ctx.clock.sleep(self.ctx.settings.saga_sweep_interval_seconds)
            try:
                await self.recover()
            except Exception:
                log.exception("order.saga_sweep_failed")
