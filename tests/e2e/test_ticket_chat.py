"""Live ticket chat over real sockets: two ticket instances on one Redis, a real WS client.

Instance A (with auth) and instance B serve the same conversation; instance `limits` has
tight frame and queue limits, instance `idle` short timeouts. All share one `Stores`, so one
fake Mongo and one fake Redis server, as two processes on the same real stores would.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from estore.cluster import Cluster, cluster_secrets
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Caller, Role
from estore.kit.stores import Stores
from estore.kit.testing import free_ports
from estore.services.auth.service import AuthService
from estore.services.ticket.service import TicketService
from tests.served import serving

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
BOB = Caller(user_id="bob", email="bob@example.com", roles=frozenset({Role.CUSTOMER}))
AGENT = Caller(user_id="agent", email="agent@example.com", roles=frozenset({Role.SUPPORT}))
# A guard against hanging forever, not a timing assertion.
GUARD = 10.0


@dataclass
class Chat:
    main: Cluster
    ports: dict[str, int]

    def token(self, caller: Caller) -> str:
        issuer = self.main.service("auth", AuthService).issuer
        token: str = issuer.issue_access_token(caller)
        return token

    def url(self, instance: str, ticket_id: str, **query: Any) -> str:
        params = str(httpx.QueryParams(query))
        return f"ws://127.0.0.1:{self.ports[instance]}/ws/tickets/{ticket_id}?{params}"

    async def open_ticket(self, caller: Caller) -> str:
        async with self.main.client("ticket") as api:
            response = await api.post(
                "/api/v1/tickets",
                json={"subject": "Broken mug", "body": "It arrived broken"},
                headers={"Authorization": f"Bearer {self.token(caller)}"},
            )
        assert response.status_code == 201, response.text
        ticket_id: str = response.json()["id"]
        return ticket_id

    async def post(self, caller: Caller, ticket_id: str, body: str) -> int:
        async with self.main.client("ticket") as api:
            response = await api.post(
                f"/api/v1/tickets/{ticket_id}/messages",
                json={"body": body},
                headers={"Authorization": f"Bearer {self.token(caller)}"},
            )
        assert response.status_code == 201, response.text
        seq: int = response.json()["seq"]
        return seq

    def connect(self, instance: str, ticket_id: str, **query: Any) -> connect:
        return connect(self.url(instance, ticket_id, **query), proxy=None, compression=None)


@pytest.fixture(scope="module")
async def chat(fast_hashing: dict[str, int]) -> AsyncIterator[Chat]:
    stores = Stores()
    secrets = cluster_secrets()
    names = ["auth", "ticket", "ticket_b", "limits", "idle"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    shared = {**secrets, **fast_hashing, "auth_service_url": f"http://127.0.0.1:{ports['auth']}"}
    main = Cluster(
        Wiring(stores=stores),
        services=["auth", "ticket"],
        served=True,
        ports={"auth": ports["auth"], "ticket": ports["ticket"]},
        overrides=shared,
    )
    instances: dict[str, dict[str, Any]] = {
        "ticket_b": {},
        "limits": {
            "ws_max_frame_bytes": 256 * 1024,
            "message_max_chars": 250_000,
            "ws_send_queue": 2,
            "ws_gap_grace_seconds": 0.2,
        },
        "idle": {"ws_idle_timeout_seconds": 0.3, "ws_auth_timeout_seconds": 0.3},
    }
    others = [
        Cluster(
            Wiring(stores=stores),
            services=["ticket"],
            served=True,
            ports={"ticket": ports[name]},
            overrides={**shared, **settings},
        )
        for name, settings in instances.items()
    ]
    async with serving(main, *others):
        yield Chat(main, {**ports, "a": ports["ticket"], "b": ports["ticket_b"]})


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(GUARD):
        frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def receive_until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Frames up to and including the first of `kind`."""
    frames = [await receive(ws)]
    while frames[-1]["type"] != kind:
        frames.append(await receive(ws))
    return frames


async def messages(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < count:
        frame = await receive(ws)
        if frame["type"] == "message":
            found.append(frame)
    return found


async def close_code(ws: ClientConnection) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes; its close code and the frames that came before."""
    frames = []
    async with asyncio.timeout(GUARD):
        try:
            while True:
                frames.append(json.loads(await ws.recv()))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "the server closed without a close frame"
            return closed.rcvd.code, frames


async def test_a_token_in_the_url_opens_the_chat_and_replays_the_conversation(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id, token=chat.token(ALICE)) as ws:
        ready = await receive(ws)
        assert (ready["type"], ready["ticket_id"], ready["last_seq"]) == ("ready", ticket_id, 1)
        first = await receive(ws)
        assert (first["type"], first["seq"], first["body"]) == ("message", 1, "It arrived broken")


async def test_an_auth_frame_first_opens_the_chat(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id) as ws:
        await ws.send(json.dumps({"type": "auth", "token": chat.token(ALICE)}))
        assert (await receive(ws))["type"] == "ready"


@pytest.mark.parametrize("how", ["url", "frame"])
async def test_a_forged_token_is_refused_with_4401(chat: Chat, how: str) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    forged = chat.token(ALICE)[:-4] + "AAAA"
    query = {"token": forged} if how == "url" else {}
    async with chat.connect("a", ticket_id, **query) as ws:
        if how == "frame":
            await ws.send(json.dumps({"type": "auth", "token": forged}))
        code, frames = await close_code(ws)
    assert (code, frames) == (4401, [])


async def test_a_first_frame_that_is_not_auth_is_refused_with_4401(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id) as ws:
        await ws.send(json.dumps({"type": "message", "body": "let me in"}))
        assert (await close_code(ws))[0] == 4401


async def test_no_auth_frame_in_time_is_refused_with_4401(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("idle", ticket_id) as ws:
        assert (await close_code(ws))[0] == 4401


async def test_another_customers_ticket_is_refused_with_4404(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id, token=chat.token(BOB)) as ws:
        assert (await close_code(ws))[0] == 4404
    async with chat.connect("a", "no-such-ticket", token=chat.token(ALICE)) as ws:
        assert (await close_code(ws))[0] == 4404


@pytest.mark.parametrize("after", ["-1", "x", "99"])
async def test_a_bad_after_is_refused_with_1008(chat: Chat, after: str) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id, token=chat.token(ALICE), after=after) as ws:
        assert (await close_code(ws))[0] == 1008


async def test_customer_and_agent_on_two_instances_chat_live_in_order(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with (
        chat.connect("a", ticket_id, token=chat.token(ALICE), after=1) as alice,
        chat.connect("b", ticket_id, token=chat.token(AGENT), after=1) as agent,
    ):
        await receive_until(alice, "ready")
        await receive_until(agent, "ready")
        await agent.send(json.dumps({"type": "message", "body": "Sorry! Refund?", "ref": "a1"}))
        await alice.send(json.dumps({"type": "message", "body": "Yes please", "ref": "c1"}))
        await agent.send(json.dumps({"type": "message", "body": "Done", "ref": "a2"}))
        seen_by_alice = await messages(alice, 3)
        seen_by_agent = await messages(agent, 3)
    assert [m["seq"] for m in seen_by_alice] == [2, 3, 4]
    assert seen_by_alice == seen_by_agent
    by_author = {m["body"]: m["author_role"] for m in seen_by_alice}
    assert by_author == {"Sorry! Refund?": "support", "Yes please": "customer", "Done": "support"}


async def test_the_sender_gets_an_ack_with_the_stored_sequence_number(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("b", ticket_id, token=chat.token(ALICE), after=1) as ws:
        await receive_until(ws, "ready")
        await ws.send(json.dumps({"type": "message", "body": "hello", "ref": 7}))
        frames = await receive_until(ws, "ack")
    assert frames[-1] == {"type": "ack", "ref": 7, "seq": 2}


async def test_a_client_that_reconnects_gets_what_it_missed_once(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id, token=chat.token(ALICE)) as ws:
        await receive_until(ws, "ready")
        last = (await messages(ws, 1))[-1]["seq"]
    for n in range(3):
        await chat.post(AGENT, ticket_id, f"while you were away {n}")
    async with chat.connect("b", ticket_id, token=chat.token(ALICE), after=last) as ws:
        await receive_until(ws, "ready")
        missed = await messages(ws, 3)
        live_seq = await chat.post(AGENT, ticket_id, "welcome back")
        live = await messages(ws, 1)
        await ws.send(json.dumps({"type": "ping"}))
        rest = await receive_until(ws, "pong")
    assert [m["seq"] for m in missed + live] == [2, 3, 4, live_seq]
    assert [f for f in rest if f["type"] == "message"] == []


async def test_a_number_taken_by_a_writer_that_died_does_not_stall_the_chat(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("limits", ticket_id, token=chat.token(ALICE), after=1) as ws:
        await receive_until(ws, "ready")
        # A writer takes number 2 and dies before storing its message.
        repo = chat.main.service("ticket", TicketService).repo
        await repo.take_seq(ticket_id, chat.main.infras["ticket"].clock.now())
        await chat.post(AGENT, ticket_id, "after the hole")
        live = await messages(ws, 1)
    async with chat.connect("a", ticket_id, token=chat.token(ALICE), after=1) as ws:
        await receive_until(ws, "ready")
        replayed = await messages(ws, 1)
    assert [(m["seq"], m["body"]) for m in live] == [(3, "after the hole")]
    assert replayed == live


async def test_a_message_to_a_closed_ticket_gets_an_error_frame_and_stays_connected(
    chat: Chat,
) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    headers = {"Authorization": f"Bearer {chat.token(AGENT)}"}
    async with chat.main.client("ticket") as api:
        for status in ("resolved", "closed"):
            moved = await api.post(
                f"/api/v1/tickets/{ticket_id}/status", json={"status": status}, headers=headers
            )
            assert moved.status_code == 200
    async with chat.connect("a", ticket_id, token=chat.token(ALICE), after=1) as ws:
        await receive_until(ws, "ready")
        await ws.send(json.dumps({"type": "message", "body": "hello?", "ref": "x"}))
        error = await receive(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive(ws))["type"] == "pong"
    assert (error["type"], error["code"], error["ref"]) == ("error", "conflict", "x")


async def test_an_unknown_frame_type_gets_an_error_frame_and_stays_connected(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("a", ticket_id, token=chat.token(ALICE), after=1) as ws:
        await receive_until(ws, "ready")
        await ws.send(json.dumps({"type": "dance"}))
        error = await receive(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive(ws))["type"] == "pong"
    assert (error["type"], error["code"]) == ("error", "unknown_type")


@pytest.mark.parametrize(
    ("frame", "code", "error"),
    [
        ("{not json", 1007, "malformed"),
        ("[1, 2]", 1007, "malformed"),
        (b"\x00\x01", 1003, "unsupported"),
        (json.dumps({"type": "message", "body": "x" * 300_000}), 1009, "too_large"),
    ],
)
async def test_a_bad_frame_gets_an_error_frame_and_a_close_code(
    chat: Chat, frame: str | bytes, code: int, error: str
) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("limits", ticket_id, token=chat.token(ALICE), after=1) as ws:
        await receive_until(ws, "ready")
        await ws.send(frame)
        closed, frames = await close_code(ws)
    assert closed == code
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == error


async def test_an_idle_connection_is_closed_with_1001(chat: Chat) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    async with chat.connect("idle", ticket_id, token=chat.token(ALICE), after=1) as ws:
        code, frames = await close_code(ws)
    assert code == 1001
    assert [f["type"] for f in frames] == ["ready"]


async def test_a_client_that_stops_reading_is_cut_off_and_others_get_everything(
    chat: Chat,
) -> None:
    ticket_id = await chat.open_ticket(ALICE)
    rng = random.Random(16)
    # Incompressible bodies, 10 MB in all: more than the kernel's socket buffers take (the
    # sender's grows to 4 MB on Linux), so the server's sends to the slow client must wait.
    body = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=200_000))
    bodies = [f"{n}:{body}" for n in range(50)]
    # A small receive buffer, set before connecting so the TCP window stays small.
    slow_socket = socket.socket()
    slow_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow_socket.connect(("127.0.0.1", chat.ports["limits"]))
    async with (
        connect(
            chat.url("limits", ticket_id, token=chat.token(AGENT), after=1),
            proxy=None,
            compression=None,
            sock=slow_socket,
            max_queue=1,
            max_size=None,
        ) as slow,
        chat.connect("limits", ticket_id, token=chat.token(ALICE), after=1) as fast,
    ):
        await receive_until(slow, "ready")
        await receive_until(fast, "ready")
        got: list[int] = []
        for body in bodies:
            await fast.send(json.dumps({"type": "message", "body": body}))
            got += [m["seq"] for m in await messages(fast, 1)]
        code, _ = await close_code(slow)
    assert got == list(range(2, 2 + len(bodies)))
    assert code == 1013
