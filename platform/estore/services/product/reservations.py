"""Reservation use cases for the checkout: hold all or nothing, confirm, release, restock, expire.

Each transition is two steps: the reservation's status changes first (a conditional update, so
of two racers one wins), then the stock moves line by line with `settled` False until all are
done. Every line move is idempotent (it keys on the hold recorded on the product), so a retry
or the sweeper can finish a transition that a crash interrupted, without moving stock twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import structlog

from estore.kit.clock import Clock
from estore.kit.errors import Conflict, NotFound, Unprocessable
from estore.kit.ids import new_id
from estore.services.product.models import (
    ProductDoc,
    Reservation,
    ReservationDoc,
    ReservationRequest,
    ReservationStatus,
    ReservedItem,
)
from estore.services.product.repository import ProductRepository
from estore.services.product.settings import ProductSettings

S = ReservationStatus
SWEEP_BATCH = 500
log = structlog.get_logger()


class OutOfStock(Conflict):
    code = "out_of_stock"


class ReservationNotHeld(Conflict):
    code = "reservation_not_held"


class ReservationConfirmed(Conflict):
    code = "reservation_confirmed"


class ReservationInProgress(Conflict):
    code = "reservation_in_progress"


def _snapshot(product: ProductDoc, quantity: int) -> ReservedItem:
    return ReservedItem(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        quantity=quantity,
        unit_price=product.price,
        category_id=product.category_id,
    )


class Reservations:
    def __init__(self, repo: ProductRepository, clock: Clock, settings: ProductSettings) -> None:
        self._repo = repo
        self._clock = clock
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    async def reserve(
        self, request: ReservationRequest, owner_id: str | None = None
    ) -> tuple[Reservation, bool]:
        """Hold every line or none; returns the reservation and whether it is new."""
        ttl = request.ttl_seconds or self._settings.reservation_ttl_seconds
        if ttl > self._settings.reservation_max_ttl_seconds:
            limit = self._settings.reservation_max_ttl_seconds
            raise Unprocessable(f"ttl_seconds must be at most {limit}")
        existing = await self._repo.reservation_by_key(request.reservation_key)
        if existing is not None:
            return self._answer_existing(existing), False
        doc = await self._new_reservation(request, owner_id, ttl)
        if not await self._repo.add_reservation(doc):
            # Another request with the same key got in first: answer with its reservation.
            raced = await self._repo.reservation_by_key(request.reservation_key)
            assert raced is not None
            return self._answer_existing(raced), False
        await self._hold_all(doc)
        held = await self._repo.move_reservation(
            doc.id, S.PENDING, S.HELD, self._clock.now(), settled=True
        )
        if held is None:
            raise ReservationInProgress("the reservation was interrupted; retry with the same key")
        return Reservation.of(held), True

    async def get(self, reservation_id: str) -> Reservation:
        return Reservation.of(await self._doc(reservation_id))

    async def confirm(self, reservation_id: str) -> Reservation:
        doc = await self._current(reservation_id)
        if doc.status is S.HELD:
            doc = await self._move(doc, S.CONFIRMED)
        if doc.status in (S.CONFIRMED, S.RESTOCKED):
            return Reservation.of(await self._settle(doc))
        raise ReservationNotHeld(
            f"reservation {reservation_id} is {doc.status.value.lower()}, not held",
            details=[{"reservation_id": reservation_id, "status": doc.status.value}],
        )

    async def release(self, reservation_id: str) -> Reservation:
        doc = await self._current(reservation_id)
        if doc.status is S.HELD:
            doc = await self._move(doc, S.RELEASED)
        if doc.status in (S.RELEASED, S.EXPIRED):
            return Reservation.of(await self._settle(doc))
        if doc.status is S.PENDING:
            raise ReservationInProgress(f"reservation {reservation_id} is still being made")
        raise ReservationConfirmed(
            f"reservation {reservation_id} is {doc.status.value.lower()}; restock it instead",
            details=[{"reservation_id": reservation_id, "status": doc.status.value}],
        )

    async def restock(self, reservation_id: str) -> Reservation:
        """Put a confirmed reservation's units back into stock, once (a cancelled order)."""
        doc = await self._doc(reservation_id)
        if doc.status is S.CONFIRMED:
            await self._settle(doc)
            doc = await self._move(doc, S.RESTOCKED)
        if doc.status is S.RESTOCKED:
            return Reservation.of(await self._settle(doc))
        raise Conflict(
            f"reservation {reservation_id} is {doc.status.value.lower()}; only a confirmed "
            "reservation can be restocked",
            details=[{"reservation_id": reservation_id, "status": doc.status.value}],
        )

    async def sweep_once(self) -> int:
        """Expire holds past their time and finish interrupted transitions; returns how many."""
        now = self._clock.now()
        done = 0
        for doc in await self._repo.expired_holds(now, SWEEP_BATCH):
            moved = await self._repo.move_reservation(doc.id, S.HELD, S.EXPIRED, now, settled=False)
            if moved is not None:
                await self._settle(moved)
                done += 1
        grace = timedelta(seconds=self._settings.settle_grace_seconds)
        for doc in await self._repo.unsettled(now - grace, SWEEP_BATCH):
            await self._settle(doc)
            done += 1
        if done:
            log.info("product.reservations_swept", count=done)
        return done

    # --- the background sweeper -------------------------------------------------------------

    async def start_sweeper(self) -> None:
        if self._settings.sweep_interval_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._sweep_forever(), name="product-sweeper")

    async def stop_sweeper(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sweep_forever(self) -> None:
        while True:
            await self._clock.sleep(self._settings.sweep_interval_seconds)
            try:
                await self.sweep_once()
            except Exception:
                # A store outage must not end the loop; the next round tries again.
                log.exception("product.sweep_failed")

    # --- steps ------------------------------------------------------------------------------

    async def _new_reservation(
        self, request: ReservationRequest, owner_id: str | None, ttl: int
    ) -> ReservationDoc:
        wanted = [line.product_id for line in request.items]
        found = {p.id: p for p in await self._repo.products(wanted)}
        missing = [pid for pid in wanted if pid not in found]
        if missing:
            raise NotFound(
                f"no such product: {', '.join(missing)}",
                details=[{"product_id": pid} for pid in missing],
            )
        now = self._clock.now()
        return ReservationDoc(
            _id=new_id(),
            reservation_key=request.reservation_key,
            status=S.PENDING,
            items=[_snapshot(found[line.product_id], line.quantity) for line in request.items],
            owner_id=owner_id,
            settled=False,
            expires_at=now + timedelta(seconds=ttl),
            created_at=now,
            updated_at=now,
        )

    async def _hold_all(self, doc: ReservationDoc) -> None:
        for index, item in enumerate(doc.items):
            if not await self._repo.hold(item.product_id, doc.id, item.quantity):
                await self._unhold(doc.id, doc.items[:index])
                await self._repo.drop_reservation(doc.id)
                raise await self._shortage(doc.items)

    async def _shortage(self, items: list[ReservedItem]) -> OutOfStock:
        found = {p.id: p for p in await self._repo.products([i.product_id for i in items])}
        left = {
            i.product_id: found[i.product_id].available if i.product_id in found else 0
            for i in items
        }
        short = [i for i in items if left[i.product_id] < i.quantity] or items
        details: list[dict[str, Any]] = [
            {"product_id": i.product_id, "requested": i.quantity, "available": left[i.product_id]}
            for i in short
        ]
        names = ", ".join(f"{i.product_id} ({left[i.product_id]} left)" for i in short)
        return OutOfStock(f"not enough stock: {names}", details=details)

    async def _unhold(self, reservation_id: str, items: list[ReservedItem]) -> None:
        for item in items:
            await self._repo.unhold(item.product_id, reservation_id, item.quantity)

    async def _settle(self, doc: ReservationDoc) -> ReservationDoc:
        """Do the stock moves the reservation's status calls for, if not yet done."""
        if doc.settled and doc.status is not S.PENDING:
            return doc
        if doc.status is S.PENDING:
            await self._unhold(doc.id, doc.items)
            await self._repo.drop_reservation(doc.id)
            return doc
        for item in doc.items:
            if doc.status is S.CONFIRMED:
                await self._repo.take(item.product_id, doc.id, item.quantity)
            elif doc.status is S.RESTOCKED:
                await self._repo.put_back(item.product_id, doc.id, item.quantity)
            else:
                await self._repo.unhold(item.product_id, doc.id, item.quantity)
        # The `restocks.<id>` markers stay: a caller that read this reservation before it was
        # settled may still try to put the units back, and only the marker stops it.
        await self._repo.mark_settled(doc.id, self._clock.now())
        return doc.model_copy(update={"settled": True})

    async def _move(self, doc: ReservationDoc, to: ReservationStatus) -> ReservationDoc:
        moved = await self._repo.move_reservation(
            doc.id, doc.status, to, self._clock.now(), settled=False
        )
        # Lost a race: whatever the winner did is the state to answer from.
        return moved or await self._doc(doc.id)

    async def _current(self, reservation_id: str) -> ReservationDoc:
        """The reservation, expired first if its time ran out before the sweeper came by."""
        doc = await self._doc(reservation_id)
        if doc.status is S.HELD and doc.expires_at <= self._clock.now():
            doc = await self._settle(await self._move(doc, S.EXPIRED))
        return doc

    async def _doc(self, reservation_id: str) -> ReservationDoc:
        doc = await self._repo.reservation(reservation_id)
        if doc is None:
            raise NotFound(f"no such reservation: {reservation_id}")
        return doc

    def _answer_existing(self, doc: ReservationDoc) -> Reservation:
        if doc.status is S.PENDING:
            raise ReservationInProgress(
                f"reservation {doc.reservation_key} is still being made; retry shortly"
            )
        return Reservation.of(doc)
