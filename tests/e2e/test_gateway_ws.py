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
from estore.kit.testing import free_ports
from tests.callers import ADMIN, as_caller
from tests.integration.gateway.service_helpers import account
from tests.served import serving

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

PROTOCOL = [Subprotocol("graphql-transport-ws")]
WATCH = """subscription Watch($id: ID!) {
  orderStatusChanged(orderId: $id) { orderId customerId status reason at }
}"""


SERVICES = ["auth", "product", "category", "coupon", "payment", "order", "gateway"]


@pytest.fixture(scope="module")
async def served(fast_hashing: dict[str, int]) -> AsyncIterator[Cluster]:
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    cluster = Cluster(Wiring(), services=SERVICES, served=True, ports=ports, overrides=fast_hashing)
    async with serving(cluster):
        yield cluster


async def graphql(cluster: Cluster, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with cluster.client("gateway") as gateway:
        answer = await gateway.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def place_order(cluster: Cluster, token: str, n: int) -> str:
    async with cluster.client("product") as product:
        made = await product.post(
            "/api/v1/products",
            json={
                "sku": f"WS-{n}",
                "name": "Lamp",
                "price": {"amount": 900, "currency": "EUR"},
                "stock": 3,
            },
            headers=as_caller(cluster, ADMIN),
        )
    assert made.status_code == 201, made.text
    data = await graphql(
        cluster,
        token,
        """mutation($input: CreateOrderInput!) { createOrder(input: $input) { id status } }""",
        input={
            "items": [{"productId": made.json()["id"], "quantity": 1}],
            "cardNumber": "4242424242424242",
            "idempotencyKey": f"ws-order-{n}",
        },
    )
    assert data["createOrder"]["status"] == "CONFIRMED"
    order_id: str = data["createOrder"]["id"]
    return order_id


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


async def subscribe(ws: ClientConnection, token: str, order_id: str) -> None:
    await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert await receive(ws) == {"type": "connection_ack"}
    payload = {"query": WATCH, "variables": {"id": order_id}}
    await send(ws, {"id": "1", "type": "subscribe", "payload": payload})


async def test_the_owner_watches_a_real_order_being_cancelled(served: Cluster) -> None:
    user_id, token = await account(served, "watcher@example.com")
    order_id = await place_order(served, token, 1)
    async with connect(ws_url(served), subprotocols=PROTOCOL) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        await subscribe(ws, token, order_id)
        await asyncio.wait_for(hub_of(served).until_watching(order_id, 1), timeout=5)
        cancel = """mutation($id: ID!) { cancelOrder(id: $id, reason: "changed my mind") { id } }"""
        await graphql(served, token, cancel, id=order_id)
        event = await receive(ws)
        await send(ws, {"id": "1", "type": "complete"})
        await asyncio.wait_for(hub_of(served).until_watching(order_id, 0), timeout=5)
    assert (event["id"], event["type"]) == ("1", "next")
    change = event["payload"]["data"]["orderStatusChanged"]
    assert (change["orderId"], change["customerId"]) == (order_id, user_id)
    assert (change["status"], change["reason"]) == ("CANCELLED", "changed my mind")


async def test_another_customer_may_not_watch_the_order(served: Cluster) -> None:
    _, owner = await account(served, "owner@example.com")
    order_id = await place_order(served, owner, 2)
    _, other = await account(served, "other@example.com")
    async with connect(ws_url(served), subprotocols=PROTOCOL) as ws:
        await subscribe(ws, other, order_id)
        refused = await receive(ws)
    assert (refused["id"], refused["type"]) == ("1", "error")
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert hub_of(served).watching(order_id) == 0


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
