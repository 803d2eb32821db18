"""Ticket documents, inputs and views, and the rules of the ticket status machine."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from estore.kit.errors import Conflict, Forbidden
from estore.kit.identity import STAFF, Caller, Role
from estore.kit.views import View

# Order ids go into the order service's URL path: only plain id characters get that far.
ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class TicketStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# Forward along open -> pending -> resolved -> closed (pending may fall back to open when the
# customer answers). Moving a resolved or closed ticket back to open is a reopen, which is
# allowed only within the reopen window.
FORWARD: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
REOPENABLE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
# "Pending" means waiting on the customer: only an agent puts a ticket there.
CUSTOMER_TARGETS = frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED})


class Ticket(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    customer_id: str
    customer_email: str
    subject: str
    order_id: str | None = None
    status: TicketStatus = TicketStatus.OPEN
    priority: Priority = Priority.NORMAL
    assignee_id: str | None = None
    # The highest message sequence number handed out; messages take last_seq + 1 atomically.
    last_seq: int = 0
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    closed_at: datetime | None = None

    def visible_to(self, caller: Caller) -> bool:
        return caller.user_id == self.customer_id or bool(caller.roles & STAFF)


class Message(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    ticket_id: str
    seq: int
    author_id: str
    author_role: Role
    body: str
    created_at: datetime


def author_role(caller: Caller) -> Role:
    """The role a message is shown with: the strongest the author holds."""
    for role in (Role.ADMIN, Role.SUPPORT):
        if role in caller.roles:
            return role
    return Role.CUSTOMER


def check_transition(
    ticket: Ticket, target: TicketStatus, caller: Caller, now: datetime, window: timedelta
) -> None:
    """Raise unless `caller` may move `ticket` to `target` now."""
    if not caller.roles & STAFF and target not in CUSTOMER_TARGETS:
        raise Forbidden(f"only support can set a ticket to {target}")
    if target is TicketStatus.OPEN and ticket.status in REOPENABLE:
        since = ticket.resolved_at or ticket.closed_at or ticket.updated_at
        if now - since > window:
            raise Conflict(
                f"the ticket was resolved more than {int(window.total_seconds())} s ago "
                "and can no longer be reopened; open a new ticket"
            )
        return
    if target not in FORWARD[ticket.status]:
        allowed = sorted(FORWARD[ticket.status] | ({TicketStatus.OPEN} & _reopen(ticket)))
        raise Conflict(
            f"a {ticket.status} ticket cannot become {target}; "
            f"allowed: {', '.join(allowed) or 'nothing'}"
        )


def _reopen(ticket: Ticket) -> frozenset[TicketStatus]:
    return frozenset({TicketStatus.OPEN}) if ticket.status in REOPENABLE else frozenset()


# --- inputs -----------------------------------------------------------------------------------

Body = Annotated[str, Field(min_length=1, description="Message text; the limit is a setting")]


class OpenTicket(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: Annotated[str, Field(min_length=1, max_length=200)]
    body: Body
    order_id: Annotated[str | None, Field(pattern=ORDER_ID_PATTERN)] = None
    priority: Priority = Priority.NORMAL


class PostMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: Body


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus


class Assignment(BaseModel):
    """Who handles the ticket; omitted means the caller, null means nobody."""

    model_config = ConfigDict(extra="forbid")

    assignee_id: Annotated[str | None, Field(min_length=1, max_length=64)] = "me"


class TicketFilter(BaseModel):
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: str | None = None
    customer_id: str | None = None


# --- views ------------------------------------------------------------------------------------


class MessageView(View):
    ticket_id: str
    seq: int
    author_id: str
    author_role: Role
    body: str
    created_at: datetime


class TicketView(View):
    id: str
    customer_id: str
    subject: str
    order_id: str | None
    status: TicketStatus
    priority: Priority
    assignee_id: str | None
    last_seq: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class TicketDetail(TicketView):
    messages: list[MessageView]
    # Set when more messages follow: page on with GET .../messages?after=<this>.
    next_after: int | None


class TicketPage(BaseModel):
    items: list[TicketView]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageView]
    next_after: int | None
