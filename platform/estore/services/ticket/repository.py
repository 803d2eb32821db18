"""Ticket store access: tickets and messages in ticket_db."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from estore.kit.errors import BadRequest
from estore.services.ticket.models import Message, Ticket, TicketFilter, TicketStatus

NEWEST_FIRST = [("created_at", -1), ("_id", -1)]


def encode_cursor(ticket: Ticket) -> str:
    raw = json.dumps([ticket.created_at.isoformat(), ticket.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a page starts after; BadRequest for anything not made here."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, ticket_id = json.loads(raw)
        return datetime.fromisoformat(created), str(ticket_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("cursor: not a cursor this service returned") from None


class TicketRepository:
    def __init__(self, db: Any) -> None:
        self._tickets = db["tickets"]
        self._messages = db["messages"]

    async def ensure_indexes(self) -> None:
        await self._tickets.create_index([("customer_id", 1), ("created_at", -1)])
        await self._tickets.create_index([("status", 1), ("created_at", -1)])
        await self._tickets.create_index([("assignee_id", 1), ("created_at", -1)])
        # One message per sequence number: a second writer of the same number would fail here.
        await self._messages.create_index([("ticket_id", 1), ("seq", 1)], unique=True)

    # --- tickets ------------------------------------------------------------------------------

    async def add_ticket(self, ticket: Ticket) -> None:
        await self._tickets.insert_one(ticket.model_dump(by_alias=True))

    async def get(self, ticket_id: str) -> Ticket | None:
        doc = await self._tickets.find_one({"_id": ticket_id})
        return Ticket.model_validate(doc) if doc else None

    async def page(
        self, where: TicketFilter, limit: int, after: tuple[datetime, str] | None
    ) -> list[Ticket]:
        """Up to `limit` tickets matching `where`, newest first, after the cursor position."""
        query: dict[str, Any] = where.model_dump(exclude_none=True, mode="json")
        if after is not None:
            created, ticket_id = after
            query["$or"] = [
                {"created_at": {"$lt": created}},
                {"created_at": created, "_id": {"$lt": ticket_id}},
            ]
        cursor = self._tickets.find(query).sort(NEWEST_FIRST).limit(limit)
        return [Ticket.model_validate(doc) async for doc in cursor]

    async def take_seq(self, ticket_id: str, now: datetime) -> Ticket | None:
        """Hand out the ticket's next sequence number atomically; None if closed or unknown.

        The returned ticket's `last_seq` is the number taken: two writers, on any instance,
        never get the same one.
        """
        doc = await self._tickets.find_one_and_update(
            {"_id": ticket_id, "status": {"$ne": TicketStatus.CLOSED.value}},
            {"$inc": {"last_seq": 1}, "$set": {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return Ticket.model_validate(doc) if doc else None

    async def change(
        self, ticket_id: str, expected: TicketStatus, changes: dict[str, Any]
    ) -> Ticket | None:
        """Apply `changes` only if the ticket is still `expected`: racing changes, one wins."""
        doc = await self._tickets.find_one_and_update(
            {"_id": ticket_id, "status": expected.value},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return Ticket.model_validate(doc) if doc else None

    async def assign(self, ticket_id: str, assignee_id: str | None, now: datetime) -> Ticket | None:
        doc = await self._tickets.find_one_and_update(
            {"_id": ticket_id},
            {"$set": {"assignee_id": assignee_id, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return Ticket.model_validate(doc) if doc else None

    # --- messages -----------------------------------------------------------------------------

    async def add_message(self, message: Message) -> None:
        await self._messages.insert_one(message.model_dump(by_alias=True))

    async def messages(
        self, ticket_id: str, after: int, limit: int, upto: int | None = None
    ) -> list[Message]:
        """Messages with after < seq (<= upto), in sequence order."""
        seq: dict[str, int] = {"$gt": after}
        if upto is not None:
            seq["$lte"] = upto
        cursor = (
            self._messages.find({"ticket_id": ticket_id, "seq": seq}).sort("seq", 1).limit(limit)
        )
        return [Message.model_validate(doc) async for doc in cursor]
