"""Mutants: bugs the harness plants in a live cluster, to prove the invariants can see them.

The services carry no mutant switches: each mutant replaces one method on one live object of
a freshly built cluster (an instance attribute shadowing the class's), so the bug exists only
in that run. A mutant that no schedule catches means an invariant is blind.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from redis.exceptions import RedisError

from estore.cluster import Cluster
from estore.services.order.service import OrderService
from estore.services.product.models import ReservationStatus
from estore.services.product.service import ProductService
from estore.services.ticket.service import TicketService


class UnknownMutant(ValueError):
    pass


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    plant: Callable[[Cluster], None]


def _order_ctx(cluster: Cluster) -> Any:
    return cluster.service("order", OrderService).runner.ctx


def _product(cluster: Cluster) -> Any:
    return cluster.service("product", ProductService)


async def _nothing(*_: Any, **__: Any) -> None:
    return None


def refund_skipped(cluster: Cluster) -> None:
    _order_ctx(cluster).refund_charge = _nothing


def coupon_release_skipped(cluster: Cluster) -> None:
    _order_ctx(cluster).peers.coupon.release = _nothing


def restock_skipped(cluster: Cluster) -> None:
    _order_ctx(cluster).peers.product.restock = _nothing


def double_charge(cluster: Cluster) -> None:
    payment = _order_ctx(cluster).peers.payment
    charge = payment.charge

    async def twice(body: dict[str, Any]) -> dict[str, Any]:
        first: dict[str, Any] = await charge(body)
        await charge({**body, "idempotency_key": f"{body['idempotency_key']}:again"})
        return first

    payment.charge = twice


def late_charge_unvoided(cluster: Cluster) -> None:
    """Whoever decides "nothing was charged" only looks the key up, leaving it open."""
    payment = _order_ctx(cluster).peers.payment

    async def looked_up(key: str) -> dict[str, Any]:
        return await payment.find(key) or {"status": "VOIDED"}

    payment.void = looked_up


def charge_key_unstable(cluster: Cluster) -> None:
    ctx = _order_ctx(cluster)
    counter = itertools.count()
    ctx.charge_key = lambda saga: f"order:{saga.order_id}:charge:{next(counter)}"


def outbox_write_lost(cluster: Cluster) -> None:
    bus = _order_ctx(cluster).bus
    publish = bus.publish

    async def lossy(name: str, data: Any, **kwargs: Any) -> Any:
        if name == "order:confirmed":
            return None
        return await publish(name, data, **kwargs)

    bus.publish = lossy


def stock_decremented_twice(cluster: Cluster) -> None:
    """The original design's bug: the order:confirmed consumer takes the stock again."""
    service = _product(cluster)
    record_sale = service.record_sale

    async def and_take_stock(order_id: str, items: list[dict[str, Any]]) -> bool:
        counted: bool = await record_sale(order_id, items)
        if counted:
            for item in items:
                await service._repo.change_stock(
                    str(item["product_id"]), -int(item["quantity"]), service._clock.now()
                )
        return counted

    service.record_sale = and_take_stock


def sale_counted_twice(cluster: Cluster) -> None:
    """The consumer's once-per-order check dropped: a redelivered event counts again."""

    async def always_new(order_id: str, at: Any) -> bool:
        return True

    _product(cluster)._repo.record_sale = always_new


def release_applied_twice(cluster: Cluster) -> None:
    repo = _product(cluster)._repo
    unhold = repo.unhold

    async def twice(product_id: str, reservation_id: str, quantity: int) -> bool:
        released: bool = await unhold(product_id, reservation_id, quantity)
        if released:
            await repo._products.update_one({"_id": product_id}, {"$inc": {"available": quantity}})
        return released

    repo.unhold = twice


def relay_loses_failed_writes(cluster: Cluster) -> None:
    """The order outbox marks an entry relayed though Redis refused the write (an outage)."""
    outbox = cluster.infras["order"].bus._outbox
    send = outbox._send

    async def careless(entry: dict[str, Any]) -> None:
        try:
            await send(entry)
        except RedisError:
            stamp = {"$set": {"relayed_at": outbox._clock.now()}}
            await outbox._entries.update_one({"_id": entry["_id"]}, stamp)

    outbox._send = careless


def exactly_once_assumed(cluster: Cluster) -> None:
    """The product consumer trusts each event to come once: neither its processed-event
    record nor the once-per-order sale record is checked (a duplicated entry counts again)."""
    repo = _product(cluster)._repo

    async def never_handled(event_id: str) -> bool:
        return False

    async def counted(order_id: str, lines: Any, at: Any) -> bool:
        with contextlib.suppress(DuplicateKeyError):
            await repo._sales.insert_one({"_id": order_id, "at": at, "lines": lines})
        return True

    cluster.infras["product"].bus._consumer._already_handled = never_handled
    repo.record_sale = counted


def cancellation_before_sale_forgotten(cluster: Cluster) -> None:
    """A cancellation that arrives before its confirmation leaves no trace, so the late
    confirmation counts a cancelled order as sold (events out of order)."""
    repo = _product(cluster)._repo

    async def forgetful(order_id: str, at: Any) -> list[Any]:
        before = await repo._sales.find_one_and_update(
            {"_id": order_id, "reversed_at": None},
            {"$set": {"reversed_at": at}},
            return_document=ReturnDocument.BEFORE,
        )
        return [] if before is None else list(before["lines"])

    repo.reverse_sale = forgetful


def expired_hold_confirmed(cluster: Cluster) -> None:
    """A reservation whose time ran out (its units already back in stock) is confirmed
    anyway, as a checkout slower than the hold's TTL would find it (a wall-clock jump)."""
    reservations = _product(cluster).reservations
    confirm = reservations.confirm

    async def regardless(reservation_id: str) -> Any:
        doc = await reservations._doc(reservation_id)
        if doc.status is ReservationStatus.EXPIRED:
            await reservations._move(doc, ReservationStatus.HELD)
        return await confirm(reservation_id)

    reservations._current = reservations._doc
    reservations.confirm = regardless


def ticket_order_unchecked(cluster: Cluster) -> None:
    """The ticket service no longer asks the order service whose order it is."""
    cluster.service("ticket", TicketService)._check_order = _nothing


def breaker_never_opens(cluster: Cluster) -> None:
    for infra in cluster.infras.values():
        for name in infra.clients:
            infra.clients[name].breaker.failure_threshold = 10**9


def recovery_skipped(cluster: Cluster) -> None:
    runner = cluster.service("order", OrderService).runner

    async def nothing_recovered() -> int:
        return 0

    runner.recover = nothing_recovered


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("refund_skipped", "a compensation skipped: the refund", refund_skipped),
        Mutant(
            "coupon_release_skipped",
            "a compensation skipped: the coupon release",
            coupon_release_skipped,
        ),
        Mutant("restock_skipped", "a cancellation does not restock", restock_skipped),
        Mutant("double_charge", "the saga charges the card twice", double_charge),
        Mutant(
            "charge_key_unstable",
            "an idempotency check dropped: a fresh charge key per attempt",
            charge_key_unstable,
        ),
        Mutant("outbox_write_lost", "an outbox write lost (order:confirmed)", outbox_write_lost),
        Mutant(
            "stock_decremented_twice",
            "stock confirmed twice (the order:confirmed consumer takes it again)",
            stock_decremented_twice,
        ),
        Mutant(
            "sale_counted_twice",
            "a consumer's idempotency check dropped (redelivered events count twice)",
            sale_counted_twice,
        ),
        Mutant(
            "release_applied_twice",
            "a reservation release gives the stock back twice",
            release_applied_twice,
        ),
        Mutant(
            "relay_loses_failed_writes",
            "an outbox entry marked relayed though Redis refused it",
            relay_loses_failed_writes,
        ),
        Mutant(
            "exactly_once_assumed",
            "a consumer that trusts every event to come once (duplicates count again)",
            exactly_once_assumed,
        ),
        Mutant(
            "ticket_order_unchecked",
            "a ticket opened on any order, the caller's or not",
            ticket_order_unchecked,
        ),
        Mutant("breaker_never_opens", "a breaker that never opens", breaker_never_opens),
        Mutant(
            "recovery_skipped",
            "saga recovery does nothing after a crash",
            recovery_skipped,
        ),
    )
}


# Bugs that only a rare combination shows (a cancellation and its confirmation both held by
# a reorder fault; a charge delivered after recovery decided, caught at seed 1 after 368
# random schedules): too slow for the mutant check, so a test plays each against a schedule
# made for it. Campaigns and replays take them by name.
TARGETED: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant(
            "expired_hold_confirmed",
            "a reservation confirmed after its time ran out (a wall-clock jump mid-checkout)",
            expired_hold_confirmed,
        ),
        Mutant(
            "cancellation_before_sale_forgotten",
            "a cancellation seen before its confirmation is forgotten (events out of order)",
            cancellation_before_sale_forgotten,
        ),
        Mutant(
            "late_charge_unvoided",
            "a charge key looked up, not closed, so a late charge lands on a failed order",
            late_charge_unvoided,
        ),
    )
}


def mutant(name: str) -> Mutant:
    known = {**MUTANTS, **TARGETED}
    try:
        return known[name]
    except KeyError:
        raise UnknownMutant(f"unknown mutant {name!r}; known: {', '.join(known)}") from None
