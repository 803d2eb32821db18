"""The ticket service in the in-process cluster: REST, the real order check, roles, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import Caller
from tests.callers import ADMIN, ALICE, BOB, as_caller
from tests.integration.ticket.support import AGENT, place_order

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
async def api(fresh: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh.client("ticket") as client:
        yield client


async def open_ticket(
    api: httpx.AsyncClient, cluster: Cluster, caller: Caller, **changes: Any
) -> dict[str, Any]:
    body = {"subject": "Parcel late", "body": "Where is my parcel?", **changes}
    response = await api.post("/api/v1/tickets", json=body, headers=as_caller(cluster, caller))
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def test_a_customer_opens_a_ticket_about_their_own_order(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    order_id = await place_order(fresh, ALICE)
    ticket = await open_ticket(api, fresh, ALICE, order_id=order_id, priority="high")
    assert (ticket["order_id"], ticket["status"], ticket["priority"]) == (order_id, "open", "high")
    assert [(m["seq"], m["author_id"]) for m in ticket["messages"]] == [(1, "alice")]
    read = await api.get(f"/api/v1/tickets/{ticket['id']}", headers=as_caller(fresh, ALICE))
    assert read.status_code == 200
    assert read.json()["messages"][0]["body"] == "Where is my parcel?"


async def test_a_ticket_about_another_customers_order_is_refused(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    order_id = await place_order(fresh, BOB)
    body = {"subject": "Hm", "body": "Tell me about it", "order_id": order_id}
    response = await api.post("/api/v1/tickets", json=body, headers=as_caller(fresh, ALICE))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "order_not_found"
    listed = await api.get("/api/v1/tickets", headers=as_caller(fresh, ALICE))
    assert listed.json()["items"] == []


async def test_a_ticket_about_an_order_while_the_order_service_is_down_gets_503(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    fresh.wiring.faults.inject_outage("order")
    try:
        body = {"subject": "Hm", "body": "Tell me", "order_id": "abc123"}
        response = await api.post("/api/v1/tickets", json=body, headers=as_caller(fresh, ALICE))
    finally:
        fresh.wiring.faults.clear("order")
    assert response.status_code == 503
    assert "order service" in response.json()["error"]["message"]
    assert await fresh.infras["ticket"].db["tickets"].count_documents({}) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"body": ""}, "body"),
        ({"order_id": "../admin"}, "order_id"),
        ({"priority": "whenever"}, "priority"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_ticket_says_which_field_is_wrong(
    api: httpx.AsyncClient, fresh: Cluster, changes: dict[str, Any], field: str
) -> None:
    body = {"subject": "s", "body": "b", **changes}
    response = await api.post("/api/v1/tickets", json=body, headers=as_caller(fresh, ALICE))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]


async def test_anonymous_callers_are_refused(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/tickets")).status_code == 401
    assert (await api.post("/api/v1/tickets", json={})).status_code == 401


async def test_another_customer_can_neither_see_nor_change_a_ticket_on_any_route(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    ticket = await open_ticket(api, fresh, ALICE)
    base = f"/api/v1/tickets/{ticket['id']}"
    bob = as_caller(fresh, BOB)
    assert (await api.get(base, headers=bob)).status_code == 404
    assert (await api.get(f"{base}/messages", headers=bob)).status_code == 404
    posted = await api.post(f"{base}/messages", json={"body": "hi"}, headers=bob)
    assert posted.status_code == 404
    status = await api.post(f"{base}/status", json={"status": "resolved"}, headers=bob)
    assert status.status_code == 404
    assign = await api.post(f"{base}/assign", json={}, headers=bob)
    assert assign.status_code == 403
    assert (await api.get("/api/v1/tickets", headers=bob)).json()["items"] == []
    others = await api.get("/api/v1/tickets", params={"customer_id": "alice"}, headers=bob)
    assert others.status_code == 403
    after = await api.get(base, headers=as_caller(fresh, ALICE))
    assert (after.json()["status"], after.json()["last_seq"]) == ("open", 1)


async def test_the_owner_writes_changes_status_but_cannot_assign(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    ticket = await open_ticket(api, fresh, ALICE)
    base = f"/api/v1/tickets/{ticket['id']}"
    alice = as_caller(fresh, ALICE)
    posted = await api.post(f"{base}/messages", json={"body": "Any news?"}, headers=alice)
    assert (posted.status_code, posted.json()["seq"]) == (201, 2)
    resolved = await api.post(f"{base}/status", json={"status": "resolved"}, headers=alice)
    assert resolved.json()["status"] == "resolved"
    assert (await api.post(f"{base}/assign", json={}, headers=alice)).status_code == 403


async def test_support_assigns_answers_and_moves_the_ticket_along(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    ticket = await open_ticket(api, fresh, ALICE)
    base = f"/api/v1/tickets/{ticket['id']}"
    agent = as_caller(fresh, AGENT)
    assigned = await api.post(f"{base}/assign", json={}, headers=agent)
    assert assigned.json()["assignee_id"] == "agent-1"
    answer = await api.post(f"{base}/messages", json={"body": "On its way"}, headers=agent)
    assert answer.json()["author_role"] == "support"
    for status in ("pending", "resolved", "closed"):
        moved = await api.post(f"{base}/status", json={"status": status}, headers=agent)
        assert moved.json()["status"] == status, moved.text
    late = await api.post(
        f"{base}/messages", json={"body": "one more"}, headers=as_caller(fresh, ALICE)
    )
    assert late.status_code == 409
    assert "closed" in late.json()["error"]["message"]
    unassigned = await api.post(
        f"{base}/assign", json={"assignee_id": None}, headers=as_caller(fresh, ADMIN)
    )
    assert unassigned.json()["assignee_id"] is None


async def test_an_illegal_status_move_says_what_is_allowed(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    ticket = await open_ticket(api, fresh, ALICE)
    response = await api.post(
        f"/api/v1/tickets/{ticket['id']}/status",
        json={"status": "closed"},
        headers=as_caller(fresh, AGENT),
    )
    assert response.status_code == 409
    assert "allowed: pending, resolved" in response.json()["error"]["message"]


async def test_support_filters_and_pages_through_everyones_tickets(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    for n in range(5):
        await open_ticket(api, fresh, ALICE if n % 2 else BOB, subject=f"t{n}", priority="low")
    urgent = await open_ticket(api, fresh, BOB, priority="urgent")
    agent = as_caller(fresh, AGENT)
    await api.post(f"/api/v1/tickets/{urgent['id']}/assign", json={}, headers=agent)
    only = await api.get(
        "/api/v1/tickets", params={"priority": "urgent", "assignee_id": "agent-1"}, headers=agent
    )
    assert [t["id"] for t in only.json()["items"]] == [urgent["id"]]
    seen: list[str] = []
    params: dict[str, Any] = {"priority": "low", "limit": 2}
    while True:
        page = (await api.get("/api/v1/tickets", params=params, headers=agent)).json()
        seen += [t["id"] for t in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    ("params", "status"),
    [({"limit": 101}, 400), ({"limit": 0}, 400), ({"cursor": "nonsense!"}, 400)],
)
async def test_oversized_pages_and_foreign_cursors_are_refused(
    api: httpx.AsyncClient, fresh: Cluster, params: dict[str, Any], status: int
) -> None:
    response = await api.get("/api/v1/tickets", params=params, headers=as_caller(fresh, AGENT))
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_messages_page_after_a_sequence_number(
    api: httpx.AsyncClient, fresh: Cluster
) -> None:
    ticket = await open_ticket(api, fresh, ALICE)
    base = f"/api/v1/tickets/{ticket['id']}"
    for n in range(4):
        await api.post(f"{base}/messages", json={"body": f"m{n}"}, headers=as_caller(fresh, ALICE))
    page = await api.get(
        f"{base}/messages", params={"after": 2, "limit": 2}, headers=as_caller(fresh, AGENT)
    )
    assert [m["seq"] for m in page.json()["items"]] == [3, 4]
    assert page.json()["next_after"] == 4
