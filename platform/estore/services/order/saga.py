"""Checkout saga: reserve, redeem, charge, record, confirm, complete; compensate in reverse.

Before a step runs, its compensation is pushed on the saga's stack and the saga is saved, so a
crash at any point leaves a record of what may have happened. After a step, the saga is saved
again. Every remote step is idempotent by a key derived from the order id, which is what lets
recovery simply run the interrupted step again (the charge excepted: the card number is never
stored, so a resumed charge can only find out whether the first attempt went through).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from estore.kit.identity import acting_as
from estore.kit.money import Money
from estore.services.order import events
from estore.services.order.context import SYSTEM, SagaContext
from estore.services.order.models import OrderItem, OrderStatus, Saga, SagaStatus
from estore.services.order.peers import PeerUnavailable, Rejected

log = structlog.get_logger()

# A step's action gets the card number only on the first run; None when resuming.
Action = Callable[[SagaContext, Saga, str | None], Awaitable[None]]
Undo = Callable[[SagaContext, Saga], Awaitable[None]]


@dataclass(frozen=True)
class Compensation:
    name: str  # kept on the saga's stack, so whoever resumes it knows what to undo
    undo: Undo


@dataclass(frozen=True)
class Step:
    name: str
    action: Action
    compensation: Compensation | None = None
    # What the customer is told when the step's peer does not answer.
    unavailable: str = "a service the checkout needs is down"


class CheckoutSaga:
    """Runs (or resumes) one checkout to COMPLETED or COMPENSATED."""

    def __init__(self, ctx: SagaContext) -> None:
        self._ctx = ctx

    async def run(self, saga: Saga, card_number: str | None = None) -> Saga:
        """Drive the saga as far as it goes; `card_number` is None when resuming."""
        with acting_as(saga.caller_identity(), self._ctx.identity):
            while saga.status is SagaStatus.RUNNING and saga.step < len(STEPS):
                await self._step(STEPS[saga.step], saga, card_number)
        if saga.status is SagaStatus.COMPENSATING:
            with acting_as(SYSTEM, self._ctx.identity):
                await self._compensate(saga)
        return saga

    async def _step(self, step: Step, saga: Saga, card_number: str | None) -> None:
        ctx = self._ctx
        undo = step.compensation.name if step.compensation else None
        if undo is not None and undo not in saga.compensations:
            saga.compensations.append(undo)
            await ctx.store.save(saga)
        await ctx.checkpoint(f"before:{step.name}")
        try:
            await step.action(ctx, saga, card_number)
        except Rejected as exc:
            # A definite no: usually the step did nothing, so there is nothing of its own to undo.
            if undo is not None and not exc.took_effect:
                with contextlib.suppress(ValueError):
                    saga.compensations.remove(undo)
            _fail(saga, exc.reason)
        except PeerUnavailable as exc:
            log.warning("order.saga_step_unavailable", step=step.name, error=str(exc))
            _fail(saga, step.unavailable)
        else:
            await ctx.checkpoint(f"executed:{step.name}")
            saga.step += 1
        await ctx.store.save(saga)
        await ctx.checkpoint(f"after:{step.name}")

    async def _compensate(self, saga: Saga) -> None:
        ctx = self._ctx
        pending = False
        for name in reversed(saga.compensations):
            if name in saga.undone:
                continue
            # Undos are independent: one peer being down must not hold back the others.
            undo = UNDO[name]
            if not await ctx.retrying(lambda undo=undo: undo(ctx, saga)):  # type: ignore[misc]
                pending = True
                continue
            saga.undone.append(name)
            await ctx.store.save(saga)
            await ctx.checkpoint(f"undone:{name}")
        if pending:
            await ctx.store.save(saga)
            return
        if not saga.items:
            await _price_what_was_asked(ctx, saga)
        failed = {
            **_priced(saga, ctx.clock.now()),
            "payment_id": None,
            "status": OrderStatus.FAILED.value,
            "failure_reason": saga.failure_reason,
        }
        await ctx.store.write_order(saga.order_id, failed, saga.items)
        saga.status = SagaStatus.COMPENSATED
        await ctx.store.save(saga)
        await ctx.announce(saga.order_id)


def _fail(saga: Saga, reason: str) -> None:
    saga.status = SagaStatus.COMPENSATING
    saga.failure_reason = reason


# --- the steps ------------------------------------------------------------------------------


async def reserve(ctx: SagaContext, saga: Saga, card_number: str | None) -> None:
    lines = [line.model_dump() for line in saga.lines]
    reservation = await ctx.peers.product.reserve(
        saga.order_id, lines, ctx.settings.reservation_ttl_seconds
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


async def redeem(ctx: SagaContext, saga: Saga, card_number: str | None) -> None:
    if not saga.coupon_code:
        return
    redemption = await ctx.peers.coupon.redeem(
        {
            "code": saga.coupon_code,
            "customer_id": saga.caller_identity().user_id,
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


async def charge(ctx: SagaContext, saga: Saga, card_number: str | None) -> None:
    if saga.total == 0:
        return
    payment = ctx.peers.payment
    key = ctx.charge_key(saga)
    if card_number is None:
        # Resumed after a crash: the dead process's charge may still be on its way, so close
        # the key rather than look it up; whatever it then says was charged is final.
        saga.charge_id = _charged(await payment.void(key))
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
    for _ in range(ctx.settings.charge_attempts):
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


async def record(ctx: SagaContext, saga: Saga, card_number: str | None) -> None:
    await ctx.store.write_order(saga.order_id, _priced(saga, ctx.clock.now()), saga.items)


async def confirm(ctx: SagaContext, saga: Saga, card_number: str | None) -> None:
    assert saga.reservation_id is not None
    await ctx.peers.product.confirm(saga.reservation_id)


async def complete(ctx: SagaContext, saga: Saga, card_number: str | None) -> None:
    now = ctx.clock.now()
    await ctx.store.write_order(
        saga.order_id,
        {"status": OrderStatus.CONFIRMED.value, "confirmed_at": now, "updated_at": now},
    )
    order = await ctx.store.order(saga.order_id)
    assert order is not None
    await ctx.bus.emit(events.order_created(order))
    await ctx.bus.emit(events.order_confirmed(order))
    await ctx.announce(saga.order_id)
    saga.status = SagaStatus.COMPLETED


# --- the compensations ----------------------------------------------------------------------


async def release_reservation(ctx: SagaContext, saga: Saga) -> None:
    product = ctx.peers.product
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


async def release_coupon(ctx: SagaContext, saga: Saga) -> None:
    await ctx.peers.coupon.release(saga.order_id)


async def refund(ctx: SagaContext, saga: Saga) -> None:
    await ctx.refund_charge(saga)


STEPS: tuple[Step, ...] = (
    Step(
        "reserve",
        reserve,
        Compensation("release_reservation", release_reservation),
        "the product service is unavailable; nothing was charged, please try again",
    ),
    Step(
        "redeem",
        redeem,
        Compensation("release_coupon", release_coupon),
        "the coupon service is unavailable; nothing was charged, please try again",
    ),
    Step(
        "charge",
        charge,
        Compensation("refund", refund),
        "the payment could not be completed; any amount taken has been refunded",
    ),
    Step("record", record),
    Step(
        "confirm",
        confirm,
        unavailable="the stock could not be confirmed; the payment has been refunded",
    ),
    Step("complete", complete),
)

UNDO: dict[str, Undo] = {s.compensation.name: s.compensation.undo for s in STEPS if s.compensation}


# --- helpers --------------------------------------------------------------------------------


async def _price_what_was_asked(ctx: SagaContext, saga: Saga) -> None:
    """Keep the cart and its price on an order refused before any stock was held.

    Best effort: without the catalog the order still carries why it failed.
    """
    lines = [line.model_dump() for line in saga.lines]
    try:
        priced = await ctx.peers.product.priced(lines)
    except PeerUnavailable as exc:
        log.warning("order.failed_order_unpriced", order_id=saga.order_id, error=str(exc))
        return
    saga.items = [OrderItem.model_validate(item) for item in priced]
    saga.subtotal = sum(item.line_total.amount for item in saga.items)


def _charged(found: dict[str, Any] | None) -> str | None:
    """The charge's id if it succeeded; None if nothing was (or now can be) charged."""
    if found is None or found.get("status") == "VOIDED":
        return None
    if found.get("status") == "SUCCEEDED":
        return str(found["id"])
    raise Rejected("your card was declined", "card_declined")


def _priced(saga: Saga, now: datetime) -> dict[str, Any]:
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
