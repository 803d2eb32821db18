"""Checkout saga: reserve, redeem, charge, record, confirm, complete; compensate in reverse.

Before a step runs, its compensation is pushed on the saga's stack and the saga is saved, so a
crash at any point leaves a record of what may have happened. After a step, the saga is saved
again. Every remote step is idempotent by a key derived from the order id, which is what lets
recovery simply run the interrupted step again (the charge excepted: the card number is never
stored, so a resumed charge can only find out whether the first attempt went through).
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog

from estore.kit.identity import acting_as
from estore.kit.money import Money
from estore.services.order import events
from estore.services.order.context import SYSTEM, SagaContext
from estore.services.order.models import OrderItem, OrderStatus, Saga, SagaStatus
from estore.services.order.peers import PeerUnavailable, Rejected

log = structlog.get_logger()


class CheckoutSaga:
    """Runs (or resumes) one checkout to COMPLETED or COMPENSATED."""

    STEPS: tuple[tuple[str, str | None], ...] = (
        ("reserve", "release_reservation"),
        ("redeem", "release_coupon"),
        ("charge", "refund"),
        ("record", None),
        ("confirm", None),
        ("complete", None),
    )

    def __init__(self, ctx: SagaContext) -> None:
        self._ctx = ctx

    async def run(self, saga: Saga, card_number: str | None = None) -> Saga:
        """Drive the saga as far as it goes; `card_number` is None when resuming."""
        with acting_as(saga.caller_identity(), self._ctx.identity):
            while saga.status is SagaStatus.RUNNING and saga.step < len(self.STEPS):
                await self._step(saga, card_number)
        if saga.status is SagaStatus.COMPENSATING:
            with acting_as(SYSTEM, self._ctx.identity):
                await self._compensate(saga)
        return saga

    async def _step(self, saga: Saga, card_number: str | None) -> None:
        ctx = self._ctx
        name, compensation = self.STEPS[saga.step]
        if compensation is not None and compensation not in saga.compensations:
            saga.compensations.append(compensation)
            await ctx.save(saga)
        await ctx.checkpoint(f"before:{name}")
        try:
            await self._execute(name, saga, card_number)
        except Rejected as exc:
            # A definite no: usually the step did nothing, so there is nothing of its own to undo.
            if compensation is not None and not exc.took_effect:
                with contextlib.suppress(ValueError):
                    saga.compensations.remove(compensation)
            self._fail(saga, exc.reason)
        except PeerUnavailable as exc:
            log.warning("order.saga_step_unavailable", step=name, error=str(exc))
            self._fail(saga, _UNAVAILABLE.get(name, "a service the checkout needs is down"))
        else:
            await ctx.checkpoint(f"executed:{name}")
            saga.step += 1
        await ctx.save(saga)
        await ctx.checkpoint(f"after:{name}")

    def _fail(self, saga: Saga, reason: str) -> None:
        saga.status = SagaStatus.COMPENSATING
        saga.failure_reason = reason

    async def _execute(self, name: str, saga: Saga, card_number: str | None) -> None:
        if name == "reserve":
            await self._reserve(saga)
        elif name == "redeem":
            await self._redeem(saga)
        elif name == "charge":
            await self._charge(saga, card_number)
        elif name == "record":
            await self._record(saga)
        elif name == "confirm":
            assert saga.reservation_id is not None
            await self._ctx.peers.product.confirm(saga.reservation_id)
        else:
            await self._complete(saga)

    async def _reserve(self, saga: Saga) -> None:
        lines = [line.model_dump() for line in saga.lines]
        reservation = await self._ctx.peers.product.reserve(
            saga.order_id, lines, self._ctx.settings.reservation_ttl_seconds
        )
        saga.reservation_id = reservation["id"]
        saga.items = [OrderItem.model_validate(item) for item in reservation["items"]]
        foreign = {i.unit_price.currency for i in saga.items} - {saga.currency}
        if foreign:
            raise Rejected(
                f"products priced in {sorted(foreign)} cannot be ordered in {saga.currency}",
                "currency",
                took_effect=True,
            )
        saga.subtotal = sum(item.line_total.amount for item in saga.items)

    async def _redeem(self, saga: Saga) -> None:
        if not saga.coupon_code:
            return
        caller = saga.caller_identity()
        redemption = await self._ctx.peers.coupon.redeem(
            {
                "code": saga.coupon_code,
                "customer_id": caller.user_id,
                "currency": saga.currency,
                "items": [
                    {
                        "product_id": i.product_id,
                        "category_id": i.category_id,
                        "quantity": i.quantity,
                        "unit_price": i.unit_price.model_dump(),
                    }
                    for i in saga.items
                ],
                "order_id": saga.order_id,
            }
        )
        saga.coupon_code = redemption["code"]
        saga.discount = min(saga.subtotal, int(redemption["discount"]["amount"]))

    async def _charge(self, saga: Saga, card_number: str | None) -> None:
        if saga.total == 0:
            return
        payment = self._ctx.peers.payment
        key = self._ctx.charge_key(saga)
        if card_number is None:
            saga.charge_id = _charged(await payment.find(key))
            if saga.charge_id is None:
                raise Rejected(
                    "the checkout was interrupted before payment; nothing was charged",
                    "payment_interrupted",
                )
            return
        body = {
            "idempotency_key": key,
            "amount": saga.total,
            "currency": saga.currency,
            "card_number": card_number,
            "customer_id": saga.caller_identity().user_id,
            "description": f"order {saga.order_id}",
        }
        maybe_sent = False
        for _ in range(self._ctx.settings.charge_attempts):
            try:
                saga.charge_id = (await payment.charge(body))["id"]
                return
            except PeerUnavailable as exc:
                maybe_sent = maybe_sent or exc.sent
                # The answer was lost, not necessarily the charge: ask before trying again.
                with contextlib.suppress(PeerUnavailable):
                    saga.charge_id = _charged(await payment.find(key))
                    if saga.charge_id is not None:
                        return
        if not maybe_sent:
            raise Rejected(
                "the payment processor is unavailable; nothing was charged, please try again",
                "payment_unavailable",
            )
        raise PeerUnavailable("payment", "no answer after retries")

    async def _record(self, saga: Saga) -> None:
        ctx = self._ctx
        await ctx.repo.record_items(saga.order_id, saga.items)
        await ctx.repo.update(saga.order_id, _priced(saga, ctx.clock.now()))

    async def _complete(self, saga: Saga) -> None:
        ctx = self._ctx
        now = ctx.clock.now()
        await ctx.repo.update(
            saga.order_id,
            {"status": OrderStatus.CONFIRMED.value, "confirmed_at": now, "updated_at": now},
        )
        order = await ctx.repo.get(saga.order_id)
        assert order is not None
        await ctx.bus.publish(events.ORDER_CREATED, events.order_created(order))
        await ctx.bus.publish(events.ORDER_CONFIRMED, events.order_confirmed(order))
        await ctx.announce(saga.order_id)
        saga.status = SagaStatus.COMPLETED

    async def _compensate(self, saga: Saga) -> None:
        ctx = self._ctx
        pending = False
        for name in reversed(saga.compensations):
            if name in saga.undone:
                continue
            # Undos are independent: one peer being down must not hold back the others.
            if not await ctx.retrying(lambda name=name: self._undo(name, saga)):  # type: ignore[misc]
                pending = True
                continue
            saga.undone.append(name)
            await ctx.save(saga)
            await ctx.checkpoint(f"undone:{name}")
        if pending:
            await ctx.save(saga)
            return
        if not saga.items:
            await self._price_what_was_asked(saga)
        now = ctx.clock.now()
        await ctx.repo.record_items(saga.order_id, saga.items)
        await ctx.repo.update(
            saga.order_id,
            {
                **_priced(saga, now),
                "payment_id": None,
                "status": OrderStatus.FAILED.value,
                "failure_reason": saga.failure_reason,
            },
        )
        saga.status = SagaStatus.COMPENSATED
        await ctx.save(saga)
        await ctx.announce(saga.order_id)

    async def _price_what_was_asked(self, saga: Saga) -> None:
        """Keep the cart and its price on an order refused before any stock was held.

        Best effort: without the catalog the order still carries why it failed.
        """
        lines = [line.model_dump() for line in saga.lines]
        try:
            priced = await self._ctx.peers.product.priced(lines)
        except PeerUnavailable as exc:
            log.warning("order.failed_order_unpriced", order_id=saga.order_id, error=str(exc))
            return
        saga.items = [OrderItem.model_validate(item) for item in priced]
        saga.subtotal = sum(item.line_total.amount for item in saga.items)

    async def _undo(self, name: str, saga: Saga) -> None:
        if name == "refund":
            await self._ctx.refund_charge(saga)
        elif name == "release_coupon":
            await self._ctx.peers.coupon.release(saga.order_id)
        else:
            await self._release_reservation(saga)

    async def _release_reservation(self, saga: Saga) -> None:
        product = self._ctx.peers.product
        if saga.reservation_id is None:
            # The hold may exist though its answer was lost: asking again by the same key
            # returns it (or holds and is released right below, which nets out).
            try:
                lines = [line.model_dump() for line in saga.lines]
                reservation = await product.reserve(saga.order_id, lines, 60)
            except Rejected:
                return
            saga.reservation_id = reservation["id"]
        current = await product.reservation(saga.reservation_id)
        status = current["status"] if current else None
        if status == "PENDING":
            # Still being made by a request we lost track of: look again later.
            raise PeerUnavailable("product", "reservation still being made")
        if status == "HELD" and await product.release(saga.reservation_id) == "released":
            return
        if status in ("HELD", "CONFIRMED"):
            await product.restock(saga.reservation_id)


_UNAVAILABLE = {
    "reserve": "the product service is unavailable; nothing was charged, please try again",
    "redeem": "the coupon service is unavailable; nothing was charged, please try again",
    "charge": "the payment could not be completed; any amount taken has been refunded",
    "confirm": "the stock could not be confirmed; the payment has been refunded",
}


def _charged(charge: dict[str, Any] | None) -> str | None:
    if charge is None:
        return None
    if charge.get("status") == "SUCCEEDED":
        return str(charge["id"])
    raise Rejected("your card was declined", "card_declined")


def _priced(saga: Saga, now: Any) -> dict[str, Any]:
    def money(amount: int) -> dict[str, Any]:
        return Money(amount=amount, currency=saga.currency).model_dump()

    return {
        "subtotal": money(saga.subtotal),
        "discount": money(saga.discount),
        "total": money(saga.total),
        "coupon_code": saga.coupon_code,
        "payment_id": saga.charge_id,
        "reservation_id": saga.reservation_id,
        "updated_at": now,
    }
