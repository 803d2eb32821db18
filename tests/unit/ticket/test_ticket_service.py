"""Ticket use cases over kit fakes: the order check, ownership, the status machine, paging."""

from __future__ import annotations

import pytest

from estore.kit.errors import Conflict, Forbidden, NotFound, Unavailable, Unprocessable
from estore.services.ticket.models import OpenTicket, Priority, TicketFilter, TicketStatus
from tests.unit.ticket.world import ADMIN, AGENT, ALICE, BOB, World

HOUR = 3600


def form(**changes: object) -> OpenTicket:
    return OpenTicket.model_validate({"subject": "Late parcel", "body": "Where is it?", **changes})


async def test_a_ticket_about_the_customers_own_order_is_opened_with_its_first_message() -> None:
    world = World()
    detail = await world.service().open(ALICE, form(order_id="o-alice"))
    assert detail.order_id == "o-alice"
    assert detail.customer_id == "alice"
    assert detail.status is TicketStatus.OPEN
    assert [(m.seq, m.body, m.author_role) for m in detail.messages] == [
        (1, "Where is it?", "customer")
    ]
    assert (await world.repo.get(detail.id)) is not None


async def test_a_ticket_about_someone_elses_order_is_refused_and_nothing_is_stored() -> None:
    world = World()
    with pytest.raises(Unprocessable) as refused:
        await world.service().open(ALICE, form(order_id="o-bob"))
    assert refused.value.code == "order_not_found"
    assert "o-bob" in refused.value.message
    assert await world.db["tickets"].count_documents({}) == 0


async def test_a_ticket_about_an_unknown_order_is_refused() -> None:
    with pytest.raises(Unprocessable):
        await World().service().open(ALICE, form(order_id="o-nobody"))


async def test_an_order_service_that_is_down_gives_503_and_stores_nothing() -> None:
    world = World()
    world.faults.inject_outage("order")
    with pytest.raises(Unavailable) as down:
        await world.service().open(ALICE, form(order_id="o-alice"))
    assert "order service" in down.value.message
    assert await world.db["tickets"].count_documents({}) == 0
    assert await world.db["messages"].count_documents({}) == 0


async def test_an_overlong_message_is_refused_with_the_limit() -> None:
    world = World()
    with pytest.raises(Unprocessable) as refused:
        await world.service(message_max_chars=10).open(ALICE, form(body="x" * 11))
    assert "at most 10" in refused.value.message


async def test_messages_get_increasing_sequence_numbers_and_are_published_after_storing() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    second = await service.post_message(AGENT, ticket.id, "Looking into it")
    third = await service.post_message(ALICE, ticket.id, "Thanks")
    assert (second.seq, third.seq) == (2, 3)
    assert second.author_role == "support"
    assert [m.seq for m in world.published] == [2, 3]
    page = await service.messages(ALICE, ticket.id, after=1, limit=10)
    assert [m.body for m in page.items] == ["Looking into it", "Thanks"]


async def test_another_customer_cannot_read_or_write_a_ticket() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    with pytest.raises(NotFound):
        await service.detail(BOB, ticket.id)
    with pytest.raises(NotFound):
        await service.post_message(BOB, ticket.id, "mine now")
    with pytest.raises(NotFound):
        await service.change_status(BOB, ticket.id, TicketStatus.RESOLVED)


async def test_only_support_may_assign_and_me_means_the_caller() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    with pytest.raises(Forbidden):
        await service.assign(ALICE, ticket.id, "me")
    assert (await service.assign(AGENT, ticket.id, "me")).assignee_id == "agent"
    assert (await service.assign(ADMIN, ticket.id, None)).assignee_id is None


async def test_the_status_moves_open_pending_resolved_closed() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    pending = await service.change_status(AGENT, ticket.id, TicketStatus.PENDING)
    resolved = await service.change_status(AGENT, ticket.id, TicketStatus.RESOLVED)
    closed = await service.change_status(ALICE, ticket.id, TicketStatus.CLOSED)
    assert [pending.status, resolved.status, closed.status] == ["pending", "resolved", "closed"]
    assert closed.resolved_at == world.clock.now() and closed.closed_at == world.clock.now()


async def test_the_customers_answer_moves_a_pending_ticket_back_to_open() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    await service.change_status(AGENT, ticket.id, TicketStatus.PENDING)
    await service.post_message(AGENT, ticket.id, "Which address was it sent to?")
    assert (await service.ticket(ALICE, ticket.id)).status is TicketStatus.PENDING
    await service.post_message(ALICE, ticket.id, "12 Harbour Road")
    assert (await service.ticket(ALICE, ticket.id)).status is TicketStatus.OPEN


async def test_a_customer_cannot_put_a_ticket_on_pending() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    with pytest.raises(Forbidden):
        await service.change_status(ALICE, ticket.id, TicketStatus.PENDING)


async def test_skipping_from_open_to_closed_is_refused_with_the_allowed_moves() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    with pytest.raises(Conflict) as refused:
        await service.change_status(AGENT, ticket.id, TicketStatus.CLOSED)
    assert "pending, resolved" in refused.value.message


async def test_a_closed_ticket_takes_no_messages() -> None:
    world = World()
    service = world.service()
    ticket = await service.open(ALICE, form())
    await service.change_status(AGENT, ticket.id, TicketStatus.RESOLVED)
    await service.change_status(AGENT, ticket.id, TicketStatus.CLOSED)
    with pytest.raises(Conflict):
        await service.post_message(ALICE, ticket.id, "hello?")
    assert (await world.repo.get(ticket.id)).last_seq == 1  # type: ignore[union-attr]


async def test_a_resolved_ticket_can_be_reopened_within_the_window() -> None:
    world = World()
    service = world.service(reopen_window_seconds=HOUR)
    ticket = await service.open(ALICE, form())
    await service.change_status(AGENT, ticket.id, TicketStatus.RESOLVED)
    await service.change_status(AGENT, ticket.id, TicketStatus.CLOSED)
    await world.clock.advance(HOUR)
    reopened = await service.change_status(ALICE, ticket.id, TicketStatus.OPEN)
    assert reopened.status is TicketStatus.OPEN
    assert reopened.resolved_at is None and reopened.closed_at is None


async def test_a_ticket_resolved_longer_ago_than_the_window_cannot_be_reopened() -> None:
    world = World()
    service = world.service(reopen_window_seconds=HOUR)
    ticket = await service.open(ALICE, form())
    await service.change_status(AGENT, ticket.id, TicketStatus.RESOLVED)
    await world.clock.advance(HOUR + 1)
    with pytest.raises(Conflict) as refused:
        await service.change_status(ALICE, ticket.id, TicketStatus.OPEN)
    assert "can no longer be reopened" in refused.value.message


async def test_customers_list_their_own_tickets_and_support_filters_everyones() -> None:
    world = World()
    service = world.service()
    mine = await service.open(ALICE, form(priority=Priority.HIGH))
    await service.open(BOB, form())
    own = await service.tickets(ALICE, TicketFilter(), 10, None)
    assert [t.id for t in own.items] == [mine.id]
    with pytest.raises(Forbidden):
        await service.tickets(ALICE, TicketFilter(customer_id="bob"), 10, None)
    high = await service.tickets(AGENT, TicketFilter(priority=Priority.HIGH), 10, None)
    assert [t.id for t in high.items] == [mine.id]
    assert len((await service.tickets(AGENT, TicketFilter(), 10, None)).items) == 2


async def test_pages_follow_the_cursor_without_repeats_or_gaps() -> None:
    world = World()
    service = world.service()
    opened = []
    for n in range(7):
        opened.append((await service.open(ALICE, form(subject=f"t{n}"))).id)
        if n % 2:
            await world.clock.advance(1)  # some tickets share a creation time
    seen: list[str] = []
    cursor = None
    while True:
        page = await service.tickets(AGENT, TicketFilter(), 3, cursor)
        seen += [t.id for t in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(opened)
    assert len(seen) == len(set(seen)) == 7
