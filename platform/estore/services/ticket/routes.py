"""Ticket REST routes under /api/v1: open, list, read, write, change status, assign."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from estore.kit.deps import paging_query, service_of
from estore.kit.identity import Caller, Role, require_caller, require_role
from estore.services.ticket.models import (
    Assignment,
    MessagePage,
    MessageView,
    OpenTicket,
    PostMessage,
    Priority,
    StatusChange,
    TicketDetail,
    TicketFilter,
    TicketPage,
    TicketStatus,
    TicketView,
)
from estore.services.ticket.service import MAX_PAGE, TicketService

Service = Annotated[TicketService, Depends(service_of)]
CurrentCaller = Annotated[Caller, Depends(require_caller)]
Staff = Annotated[Caller, Depends(require_role(Role.SUPPORT, Role.ADMIN))]

router = APIRouter(tags=["tickets"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such ticket for you"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "Not allowed in this status"}}


def _ticket_link(suffix: str, method: str) -> dict[str, Any]:
    """An OpenAPI link from a ticket answer to an operation on the same ticket."""
    path = "~1api~1v1~1tickets~1{ticket_id}" + suffix.replace("/", "~1")
    return {
        "operationRef": f"#/paths/{path}/{method}",
        "parameters": {"ticket_id": "$response.body#/id"},
    }


# What a client can do next with the ticket it opened (for stateful API testing).
TICKET_LINKS: dict[str, Any] = {
    "links": {
        "ReadTicket": _ticket_link("", "get"),
        "ListMessages": _ticket_link("/messages", "get"),
        "PostMessage": _ticket_link("/messages", "post"),
        "ChangeStatus": _ticket_link("/status", "post"),
    }
}


@router.post(
    "/tickets",
    status_code=201,
    responses={
        201: TICKET_LINKS,
        503: {"description": "The order could not be checked; nothing stored"},
    },
)
async def open_ticket(form: OpenTicket, caller: CurrentCaller, service: Service) -> TicketDetail:
    """Open a ticket with its first message; `order_id`, if given, must be your order."""
    return await service.open(caller, form)


@router.get("/tickets")
async def list_tickets(
    caller: CurrentCaller,
    service: Service,
    status: TicketStatus | None = None,
    priority: Priority | None = None,
    assignee_id: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, paging_query(1, MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> TicketPage:
    """Newest first; customers see their own tickets, support and admins everyone's."""
    where = TicketFilter(
        status=status, priority=priority, assignee_id=assignee_id, customer_id=customer_id
    )
    return await service.tickets(caller, where, limit, cursor)


@router.get("/tickets/{ticket_id}", responses=NOT_FOUND)
async def read_ticket(ticket_id: str, caller: CurrentCaller, service: Service) -> TicketDetail:
    return await service.detail(caller, ticket_id)


@router.get("/tickets/{ticket_id}/messages", responses=NOT_FOUND)
async def list_messages(
    ticket_id: str,
    caller: CurrentCaller,
    service: Service,
    after: Annotated[int, paging_query(0)] = 0,
    limit: Annotated[int, paging_query(1, MAX_PAGE)] = 50,
) -> MessagePage:
    """Messages with a sequence number above `after`, in order."""
    return await service.messages(caller, ticket_id, after, limit)


@router.post("/tickets/{ticket_id}/messages", status_code=201, responses={**NOT_FOUND, **CONFLICT})
async def post_message(
    ticket_id: str, body: PostMessage, caller: CurrentCaller, service: Service
) -> MessageView:
    return await service.post_message(caller, ticket_id, body.body)


@router.post("/tickets/{ticket_id}/status", responses={**NOT_FOUND, **CONFLICT})
async def change_status(
    ticket_id: str, body: StatusChange, caller: CurrentCaller, service: Service
) -> TicketView:
    return TicketView.of(await service.change_status(caller, ticket_id, body.status))


@router.post("/tickets/{ticket_id}/assign", responses=NOT_FOUND)
async def assign(ticket_id: str, body: Assignment, caller: Staff, service: Service) -> TicketView:
    """Support and admins only; `assignee_id` "me" (the default) or null to unassign."""
    return TicketView.of(await service.assign(caller, ticket_id, body.assignee_id))
