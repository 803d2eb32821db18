"""graphql-transport-ws over an in-memory socket: handshake, operations, close codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any, cast

import pytest

from estore.gateway.compose import compose
from estore.gateway.gateway import Gateway
from estore.gateway.runtime import GatewayRuntime
from estore.gateway.subscriptions import OrderStatusHub, with_subscriptions
from estore.gateway.ws import Closed, Connection, Session
from estore.kit.clock import FakeClock
from estore.kit.events import EventBus
from estore.kit.identity import Caller, IdentityRefused, InternalIdentity, Role

SDL = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
    "type Query { hello: String }"
)
WATCH = 'subscription { orderStatusChanged(orderId: "o1") { orderId status reason } }'
CALLERS = {
    "Bearer ada": Caller(user_id="ada", email="ada@example.com"),
    "Bearer sam": Caller(user_id="sam", email="sam@example.com", roles=frozenset({Role.SUPPORT})),
}


class FakeSocket:
    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive_text(self) -> str:
        item = await self.inbox.get()
        if item is None:
            raise Closed
        return item

    async def send_text(self, data: str) -> None:
        await self.outbox.put(json.loads(data))

    async def close(self, code: int, reason: str) -> None:
        await self.outbox.put({"closed": code, "reason": reason})

    def send(self, message: dict[str, Any] | str) -> None:
        self.inbox.put_nowait(message if isinstance(message, str) else json.dumps(message))

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.outbox.get(), timeout=5)


class Fetcher:
    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        return {"data": {"hello": "world"}}


class Runtime:
    def __init__(self) -> None:
        supergraph = compose({"greeter": SDL})
        supergraph.api_schema = with_subscriptions(supergraph.api_schema)
        self.gateway = Gateway(supergraph, Fetcher())

    async def current(self) -> Gateway:
        return self.gateway


# Who the order service says owns each order; "down" stands for an order service outage.
OWNERS = {"o1": "ada", "o2": "bob"}


async def may_watch_order(caller: Caller, order_id: str) -> bool:
    if order_id == "down":
        raise ConnectionError("order service unavailable")
    return caller.has_role(Role.SUPPORT) or OWNERS.get(order_id) == caller.user_id


# Tokens expire an hour after the fake clock starts, unless the test says otherwise.
EXPIRES = FakeClock().now() + timedelta(hours=1)


async def authenticate(payload: Mapping[str, Any]) -> Session:
    caller = CALLERS.get(str(payload.get("authorization")))
    if caller is None:
        raise IdentityRefused("no such token")
    return Session(caller, EXPIRES)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub(clock: FakeClock) -> OrderStatusHub:
    return OrderStatusHub(cast(EventBus, None), clock)


@pytest.fixture
async def socket(hub: OrderStatusHub, clock: FakeClock) -> AsyncIterator[FakeSocket]:
    fake = FakeSocket()
    connection = Connection(
        fake,
        runtime=cast(GatewayRuntime, Runtime()),
        hub=hub,
        authenticate=authenticate,
        may_watch_order=may_watch_order,
        identity=InternalIdentity(b"k" * 32, clock, 60),
        clock=clock,
        init_timeout=10,
        max_operations=2,
    )
    task = asyncio.create_task(connection.serve())
    yield fake
    fake.inbox.put_nowait(None)
    await asyncio.wait_for(task, timeout=5)


async def connect(socket: FakeSocket, token: str = "Bearer ada") -> None:
    socket.send({"type": "connection_init", "payload": {"authorization": token}})
    assert await socket.next() == {"type": "connection_ack"}


async def watching(hub: OrderStatusHub, order_id: str, count: int = 1) -> None:
    await asyncio.wait_for(hub.until_watching(order_id, count), timeout=5)


async def test_a_valid_token_in_connection_init_is_acknowledged_and_pings_are_ponged(
    socket: FakeSocket,
) -> None:
    await connect(socket)
    socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        ([{"type": "connection_init", "payload": {}}], 4403),
        ([{"type": "connection_init", "payload": {"authorization": "Bearer x"}}], 4403),
        ([{"type": "subscribe", "id": "1", "payload": {"query": WATCH}}], 4401),
        (["not json"], 4400),
        ([{"type": "launch"}], 4400),
    ],
)
async def test_a_refused_handshake_closes_with_the_protocol_code(
    socket: FakeSocket, messages: list[Any], code: int
) -> None:
    for message in messages:
        socket.send(message)
    assert (await socket.next())["closed"] == code


async def test_a_second_connection_init_closes_with_4429(socket: FakeSocket) -> None:
    await connect(socket)
    socket.send({"type": "connection_init", "payload": {"authorization": "Bearer ada"}})
    assert (await socket.next())["closed"] == 4429


async def test_no_connection_init_in_time_closes_with_4408(
    socket: FakeSocket, clock: FakeClock
) -> None:
    await asyncio.sleep(0)
    await clock.advance(10)
    assert (await socket.next())["closed"] == 4408


async def test_the_owner_receives_status_changes_until_completing(
    socket: FakeSocket, hub: OrderStatusHub
) -> None:
    await connect(socket)
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": WATCH}})
    await watching(hub, "o1")
    hub.dispatch({"order_id": "o1", "customer_id": "ada", "status": "confirmed", "reason": None})
    assert await socket.next() == {
        "id": "w",
        "type": "next",
        "payload": {
            "data": {"orderStatusChanged": {"orderId": "o1", "status": "confirmed", "reason": None}}
        },
    }
    socket.send({"type": "complete", "id": "w"})
    await watching(hub, "o1", 0)


@pytest.mark.parametrize(
    ("order_id", "code"), [("o2", "FORBIDDEN"), ("o9", "FORBIDDEN"), ("down", "UNAVAILABLE")]
)
async def test_an_order_not_yours_is_refused_before_any_watching(
    socket: FakeSocket, hub: OrderStatusHub, order_id: str, code: str
) -> None:
    await connect(socket)
    query = WATCH.replace('"o1"', f'"{order_id}"')
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": query}})
    message = await socket.next()
    assert (message["id"], message["type"]) == ("w", "error")
    assert message["payload"][0]["extensions"]["code"] == code
    assert hub.watching(order_id) == 0


async def test_a_notice_for_another_customer_ends_the_subscription_with_forbidden(
    socket: FakeSocket, hub: OrderStatusHub
) -> None:
    await connect(socket)
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": WATCH}})
    await watching(hub, "o1")
    hub.dispatch({"order_id": "o1", "customer_id": "bob", "status": "confirmed"})
    message = await socket.next()
    assert (message["type"], message["payload"][0]["extensions"]["code"]) == ("error", "FORBIDDEN")
    await watching(hub, "o1", 0)


async def test_support_may_watch_any_order(socket: FakeSocket, hub: OrderStatusHub) -> None:
    await connect(socket, "Bearer sam")
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": WATCH}})
    await watching(hub, "o1")
    hub.dispatch({"order_id": "o1", "customer_id": "bob", "status": "cancelled"})
    assert (await socket.next())["type"] == "next"


async def test_reusing_an_active_operation_id_closes_with_4409(
    socket: FakeSocket, hub: OrderStatusHub
) -> None:
    await connect(socket)
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": WATCH}})
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": WATCH}})
    assert await socket.next() == {"closed": 4409, "reason": "Subscriber for w already exists"}


async def test_a_query_over_the_socket_answers_once_then_completes(socket: FakeSocket) -> None:
    await connect(socket)
    socket.send({"type": "subscribe", "id": "q", "payload": {"query": "{ hello }"}})
    assert await socket.next() == {
        "id": "q",
        "type": "next",
        "payload": {"data": {"hello": "world"}},
    }
    assert await socket.next() == {"id": "q", "type": "complete"}


async def test_an_invalid_operation_gets_an_error_message_and_the_socket_stays_open(
    socket: FakeSocket,
) -> None:
    await connect(socket)
    socket.send({"type": "subscribe", "id": "bad", "payload": {"query": "subscription { nope }"}})
    message = await socket.next()
    assert message["type"] == "error"
    assert "nope" in message["payload"][0]["message"]
    socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}


async def test_the_socket_closes_when_the_token_that_opened_it_expires(
    socket: FakeSocket, hub: OrderStatusHub, clock: FakeClock
) -> None:
    await connect(socket)
    socket.send({"type": "subscribe", "id": "w", "payload": {"query": WATCH}})
    await watching(hub, "o1")
    await clock.advance(3600)
    closed = await socket.next()
    assert closed == {
        "closed": 4403,
        "reason": "Forbidden: the token expired; reconnect with a new one",
    }
    await watching(hub, "o1", 0)
