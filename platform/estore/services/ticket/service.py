"""Ticket use cases: open (with the order checked), list, read, write, change status, assign."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from estore.kit.clock import Clock
from estore.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from estore.kit.identity import STAFF, Caller
from estore.kit.ids import new_id
from estore.kit.paging import page_offset, page_size
from estore.services.ticket.models import (
    Message,
    MessagePage,
    MessageView,
    OpenTicket,
    Ticket,
    TicketDetail,
    TicketFilter,
    TicketPage,
    TicketStatus,
    TicketView,
    author_role,
    check_transition,
)
from estore.services.ticket.peers import OrderPeer
from estore.services.ticket.repository import TicketRepository, decode_cursor, encode_cursor
from estore.services.ticket.settings import TicketSettings

log = logging.getLogger(__name__)

MAX_PAGE = 100
Publish = Callable[[MessageView], Awaitable[None]]


class OrderNotFound(Unprocessable):
    code = "order_not_found"


class TicketService:
    def __init__(
        self,
        repo: TicketRepository,
        orders: OrderPeer,
        publish: Publish,
        clock: Clock,
        settings: TicketSettings,
    ) -> None:
        self.repo = repo
        self._orders = orders
        self._publish = publish
        self._clock = clock
        self._settings = settings

    async def open(self, caller: Caller, form: OpenTicket) -> TicketDetail:
        """Open a ticket with its first message; an order named must be the caller's own."""
        self._check_body(form.body)
        if form.order_id is not None:
            await self._check_order(caller, form.order_id)
        now = self._now()
        ticket = Ticket(
            _id=new_id(),
            customer_id=caller.user_id,
            customer_email=caller.email,
            subject=form.subject,
            order_id=form.order_id,
            priority=form.priority,
            last_seq=1,
            created_at=now,
            updated_at=now,
        )
        first = self._message(ticket.id, 1, caller, form.body)
        await self.repo.add_ticket(ticket)
        await self.repo.add_message(first)
        return TicketDetail(
            **TicketView.of(ticket).model_dump(), messages=[MessageView.of(first)], next_after=None
        )

    async def tickets(
        self, caller: Caller, where: TicketFilter, limit: int, cursor: str | None
    ) -> TicketPage:
        """A page of tickets, newest first: a customer's own, or anyone's for support."""
        if not caller.roles & STAFF:
            if where.customer_id not in (None, caller.user_id):
                raise Forbidden("customers can list only their own tickets")
            where = where.model_copy(update={"customer_id": caller.user_id})
        after = decode_cursor(cursor) if cursor else None
        limit = page_size(limit, MAX_PAGE)
        found = await self.repo.page(where, limit + 1, after)
        more = len(found) > limit
        items = found[:limit]
        return TicketPage(
            items=[TicketView.of(t) for t in items],
            next_cursor=encode_cursor(items[-1]) if more else None,
        )

    async def ticket(self, caller: Caller, ticket_id: str) -> Ticket:
        ticket = await self.repo.get(ticket_id)
        if ticket is None or not ticket.visible_to(caller):
            # Someone else's ticket reads exactly like a missing one.
            raise NotFound(f"ticket {ticket_id} not found")
        return ticket

    async def detail(self, caller: Caller, ticket_id: str) -> TicketDetail:
        ticket = await self.ticket(caller, ticket_id)
        page = await self._page(ticket_id, 0, MAX_PAGE)
        return TicketDetail(
            **TicketView.of(ticket).model_dump(), messages=page.items, next_after=page.next_after
        )

    async def messages(self, caller: Caller, ticket_id: str, after: int, limit: int) -> MessagePage:
        await self.ticket(caller, ticket_id)
        position = page_offset(after, "after", maximum=None)
        return await self._page(ticket_id, position, page_size(limit, MAX_PAGE))

    async def messages_between(self, ticket_id: str, after: int, upto: int) -> list[MessageView]:
        """What is stored in (after, upto], for a chat connection already authorised."""
        found = await self.repo.messages(ticket_id, after, upto - after, upto)
        return [MessageView.of(m) for m in found]

    async def post_message(self, caller: Caller, ticket_id: str, body: str) -> MessageView:
        """Store the message under the next sequence number, then send it to live readers."""
        ticket = await self.ticket(caller, ticket_id)
        self._check_body(body)
        taken = await self.repo.take_seq(ticket_id, self._now())
        if taken is None:
            raise Conflict(f"ticket {ticket_id} is closed; reopen it to write")
        message = self._message(ticket_id, taken.last_seq, caller, body)
        await self.repo.add_message(message)
        if ticket.status is TicketStatus.PENDING and caller.user_id == ticket.customer_id:
            # Pending waits on the customer: their answer puts the ticket back in the queue.
            # A status changed meanwhile (None back) wins over this automatic move.
            reopened = {"status": TicketStatus.OPEN.value, "updated_at": self._now()}
            await self.repo.change(ticket_id, TicketStatus.PENDING, reopened)
        view = MessageView.of(message)
        try:
            await self._publish(view)
        except Exception as exc:
            # Stored is what counts: live readers pick it up when they reconnect with ?after=.
            log.warning("chat fan-out failed", extra={"ticket": ticket_id, "error": str(exc)})
        return view

    async def change_status(self, caller: Caller, ticket_id: str, target: TicketStatus) -> Ticket:
        ticket = await self.ticket(caller, ticket_id)
        if ticket.status is target:
            return ticket
        now = self._now()
        window = timedelta(seconds=self._settings.reopen_window_seconds)
        check_transition(ticket, target, caller, now, window)
        changes: dict[str, object] = {"status": target.value, "updated_at": now}
        if target is TicketStatus.RESOLVED:
            changes["resolved_at"] = now
        elif target is TicketStatus.CLOSED:
            changes["closed_at"] = now
        elif target is TicketStatus.OPEN:
            changes |= {"resolved_at": None, "closed_at": None}
        changed = await self.repo.change(ticket_id, ticket.status, changes)
        if changed is None:
            raise Conflict(f"ticket {ticket_id} changed meanwhile; read it and try again")
        return changed

    async def assign(self, caller: Caller, ticket_id: str, assignee_id: str | None) -> Ticket:
        if not caller.roles & STAFF:
            raise Forbidden("only support and admins assign tickets")
        await self.ticket(caller, ticket_id)
        who = caller.user_id if assignee_id == "me" else assignee_id
        assigned = await self.repo.assign(ticket_id, who, self._now())
        if assigned is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return assigned

    # --- helpers ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        """Now, to the millisecond: what Mongo keeps, so live and stored messages read alike."""
        now = self._clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def _page(self, ticket_id: str, after: int, limit: int) -> MessagePage:
        found = await self.repo.messages(ticket_id, after, limit + 1)
        more = len(found) > limit
        items = [MessageView.of(m) for m in found[:limit]]
        return MessagePage(items=items, next_after=items[-1].seq if more else None)

    def _message(self, ticket_id: str, seq: int, caller: Caller, body: str) -> Message:
        return Message(
            _id=new_id(),
            ticket_id=ticket_id,
            seq=seq,
            author_id=caller.user_id,
            author_role=author_role(caller),
            body=body,
            created_at=self._now(),
        )

    def _check_body(self, body: str) -> None:
        limit = self._settings.message_max_chars
        if len(body) > limit:
            raise Unprocessable(f"body: {len(body)} characters, at most {limit} allowed")
        if not body.strip():
            raise Unprocessable("body: empty; write something")

    async def _check_order(self, caller: Caller, order_id: str) -> None:
        if not await self._orders.owns(caller, order_id):
            raise OrderNotFound(f"order_id: order {order_id} is not one of your orders")
