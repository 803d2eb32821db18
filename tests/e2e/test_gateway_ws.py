"""The served gateway over real sockets: GraphQL subscriptions with a real WebSocket client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from estore.cluster import Cluster
from estore.gateway.subscriptions import OrderStatusHub
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Role
from tests.integration.gateway.service_helpers import account
from tests.served import free_ports, serving

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PROTOCOL = [Subprotocol("graphql-transport-ws")]
WATCH = """subscription Watch($id: ID!) {
  orderStatusChanged(orderId: $id) { orderId customerId status reason at }
}"""


@pytest.fixture(scope="module")
async def served(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    ports = dict(zip(["auth", "gateway"], free_ports(2), strict=True))
    cluster = Cluster(
        Wiring(),
        services=["auth", "gateway"],
        served=True,
        ports=ports,
        overrides={**fast_hashing, "gateway_subgraphs": "auth"},
    )
    async with serving(cluster):
        yield cluster


def ws_url(cluster: Cluster) -> str:
    return f"ws://127.0.0.1:{cluster.infras['gateway'].settings.port}/graphql"


def hub_of(cluster: Cluster) -> OrderStatusHub:
    hub: OrderStatusHub = cluster.apps["gateway"].state.hub
    return hub


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    return message


async def test_the_served_gateway_answers_graphql_over_http(served: Cluster) -> None:
    user_id, token = await account(served, "http@example.com")
    async with served.client("gateway") as gateway:
        ready = await gateway.get("/health/ready")
        answer = await gateway.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert ready.status_code == 200, ready.text
    assert answer.json() == {"data": {"me": {"id": user_id}}}


async def test_the_owner_subscribes_and_receives_the_status_change(served: Cluster) -> None:
    user_id, token = await account(served, "watcher@example.com")
    async with connect(ws_url(served), subprotocols=PROTOCOL) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert await receive(ws) == {"type": "connection_ack"}
        await send(
            ws,
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": WATCH, "variables": {"id": "o1"}},
            },
        )
        await asyncio.wait_for(hub_of(served).until_watching("o1", 1), timeout=5)
        notice = {
            "order_id": "o1",
            "customer_id": user_id,
            "status": "confirmed",
            "reason": None,
            "at": "2025-01-01T00:00:00+00:00",
        }
        assert await served.infras["gateway"].bus.notify("order:status", notice) >= 1
        event = await receive(ws)
        await send(ws, {"id": "1", "type": "complete"})
        await asyncio.wait_for(hub_of(served).until_watching("o1", 0), timeout=5)
    assert event == {
        "id": "1",
        "type": "next",
        "payload": {
            "data": {
                "orderStatusChanged": {
                    "orderId": "o1",
                    "customerId": user_id,
                    "status": "confirmed",
                    "reason": None,
                    "at": "2025-01-01T00:00:00+00:00",
                }
            }
        },
    }


async def test_a_connection_without_a_token_is_closed_with_4403(served: Cluster) -> None:
    async with connect(ws_url(served), subprotocols=PROTOCOL) as ws:
        await send(ws, {"type": "connection_init"})
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_subscribing_before_connection_init_is_closed_with_4401(served: Cluster) -> None:
    async with connect(ws_url(served), subprotocols=PROTOCOL) as ws:
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": WATCH}})
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_a_socket_without_the_subprotocol_is_closed_with_4406(served: Cluster) -> None:
    async with connect(ws_url(served)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


async def test_a_staff_member_may_watch_any_order(served: Cluster) -> None:
    _, token = await account(served, "support@example.com", Role.SUPPORT)
    async with connect(ws_url(served), subprotocols=PROTOCOL) as ws:
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        await receive(ws)
        await send(
            ws,
            {
                "id": "s",
                "type": "subscribe",
                "payload": {"query": WATCH, "variables": {"id": "o2"}},
            },
        )
        await asyncio.wait_for(hub_of(served).until_watching("o2", 1), timeout=5)
        notice = {"order_id": "o2", "customer_id": "someone", "status": "cancelled", "at": "t"}
        await served.infras["gateway"].bus.notify("order:status", notice)
        event = await receive(ws)
    assert event["payload"]["data"]["orderStatusChanged"]["status"] == "cancelled"
