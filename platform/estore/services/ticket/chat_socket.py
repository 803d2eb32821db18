"""Live chat at /ws/tickets/{id}: authenticate, replay what was missed, then chat live.

Protocol (JSON text frames):
- Identity, first found wins: the handshake's `Authorization: Bearer` (or the gateway's
  internal caller header), else `?token=<access token>`, else the first frame
  `{"type": "auth", "token": ...}` within `ws_auth_timeout_seconds`.
- `?after=N` (default 0): the highest sequence number the client has; everything later is
  replayed from the store, then live messages follow, in order, each once.
- Server frames: `ready` {ticket_id, status, last_seq, after}; `message` {ticket_id, seq,
  author_id, author_role, body, created_at}; `ack` {ref, seq} for a stored message of this
  client; `pong`; `error` {code, message}.
- Client frames: `message` {body, ref?}; `ping`; unknown types or bad fields get an error
  frame and the connection stays open.
- Close codes: 4401 no or bad identity; 4404 no such ticket for this caller; 1008 bad `after`;
  1003 binary frame; 1007 a frame that is not a JSON object with a "type"; 1009 frame over
  `ws_max_frame_bytes`; 1001 idle (no frame for `ws_idle_timeout_seconds`); 1013 client too
  slow (its send queue overflowed) or token keys unavailable; 1012 the live channel was lost.
  After 1012 or 1013, reconnect with `?after=` and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from estore.kit.clock import Clock
from estore.kit.errors import NotFound, ServiceError
from estore.kit.events import Inbox, InboxClosed
from estore.kit.events.broadcast import OVERFLOW
from estore.kit.identity import Authenticator, Caller, IdentityRefused, KeysUnavailable
from estore.services.ticket.chat import ChatHub, Frame, Sequencer, message_frame, within
from estore.services.ticket.models import MessageView
from estore.services.ticket.service import TicketService
from estore.services.ticket.settings import TicketSettings

REPLAY_BATCH = 200
# A client that does not read cannot take our close frame either; stop waiting on it.
CLOSE_TIMEOUT_SECONDS = 5.0

router = APIRouter()


@dataclass(frozen=True)
class ChatContext:
    """What a chat connection needs; the app keeps one in `app.state.chat`."""

    service: TicketService
    hub: ChatHub
    authenticator: Authenticator
    clock: Clock
    settings: TicketSettings


class Close(Exception):
    """End the connection with this close code; `error` also sends an error frame first."""

    def __init__(self, code: int, reason: str, error: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.error = error


@router.websocket("/ws/tickets/{ticket_id}")
async def ticket_chat(websocket: WebSocket, ticket_id: str) -> None:
    await ChatSession(websocket, websocket.app.state.chat, ticket_id).run()


class ChatSession:
    def __init__(self, websocket: WebSocket, ctx: ChatContext, ticket_id: str) -> None:
        self._ws = websocket
        self._ctx = ctx
        self._ticket_id = ticket_id
        self._send_lock = asyncio.Lock()

    async def run(self) -> None:
        await self._ws.accept()
        try:
            await self._serve()
        except WebSocketDisconnect:
            # The client left (a normal close, or its connection dropped): nothing to answer.
            return
        except Close as close:
            if close.error is not None:
                with contextlib.suppress(Exception):
                    await self._error(close.error, close.reason)
            await self._close(close.code, close.reason)

    async def _serve(self) -> None:
        after = self._after()
        caller = await self._authenticate()
        try:
            ticket = await self._ctx.service.ticket(caller, self._ticket_id)
        except NotFound:
            raise Close(4404, f"ticket {self._ticket_id} not found") from None
        if after > ticket.last_seq:
            raise Close(1008, f"after={after} is beyond the last message ({ticket.last_seq})")
        async with contextlib.AsyncExitStack() as stack:
            try:
                inbox = await stack.enter_async_context(self._ctx.hub.join(self._ticket_id))
            except ConnectionError:
                raise Close(1012, "live chat unavailable; reconnect shortly") from None
            await self._send(
                {
                    "type": "ready",
                    "ticket_id": ticket.id,
                    "status": ticket.status.value,
                    "last_seq": ticket.last_seq,
                    "after": after,
                }
            )
            await _first_to_finish(
                self._receive_loop(caller), self._send_loop(inbox, after), _watch(inbox)
            )

    # --- identity -----------------------------------------------------------------------------

    def _after(self) -> int:
        raw = self._ws.query_params.get("after", "0")
        if not raw.isdigit():
            raise Close(1008, "after must be a non-negative integer (the last seq you have)")
        return int(raw)

    async def _authenticate(self) -> Caller:
        authenticator = self._ctx.authenticator
        try:
            caller = await authenticator.authenticate(self._ws.headers)
            if caller is None:
                token = self._ws.query_params.get("token") or await self._auth_frame()
                caller = await authenticator.authenticate({"Authorization": f"Bearer {token}"})
        except IdentityRefused:
            raise Close(4401, "invalid credentials") from None
        except KeysUnavailable:
            raise Close(1013, "token keys unavailable; try again shortly") from None
        if caller is None:
            raise Close(4401, "authentication required")
        return caller

    async def _auth_frame(self) -> str:
        try:
            frame = await within(
                self._ctx.clock, self._ctx.settings.ws_auth_timeout_seconds, self._frame()
            )
        except TimeoutError:
            raise Close(4401, "authentication required: no auth frame in time") from None
        if frame is None:
            raise Close(4401, "authentication required")
        token = frame.get("token")
        if frame.get("type") != "auth" or not isinstance(token, str) or not token:
            raise Close(4401, 'the first frame must be {"type": "auth", "token": "..."}')
        return token

    # --- receiving ----------------------------------------------------------------------------

    async def _frame(self) -> Frame | None:
        """The next client frame as a JSON object; None when the client has left."""
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        if message.get("bytes") is not None:
            raise Close(1003, "binary frames are not supported; send JSON text", "unsupported")
        text: str = message.get("text") or ""
        limit = self._ctx.settings.ws_max_frame_bytes
        if len(text.encode()) > limit:
            raise Close(1009, f"frame larger than {limit} bytes", "too_large")
        try:
            frame = json.loads(text)
        except ValueError:
            raise Close(1007, "frame is not JSON", "malformed") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise Close(1007, 'frame must be a JSON object with a "type"', "malformed")
        return frame

    async def _receive_loop(self, caller: Caller) -> None:
        idle = self._ctx.settings.ws_idle_timeout_seconds
        while True:
            try:
                frame = await within(self._ctx.clock, idle, self._frame())
            except TimeoutError:
                raise Close(1001, f"idle for {idle:g} s") from None
            if frame is None:
                return
            await self._handle(caller, frame)

    async def _handle(self, caller: Caller, frame: Frame) -> None:
        kind = frame["type"]
        if kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "message":
            await self._post(caller, frame)
        else:
            await self._error("unknown_type", f"unknown frame type {kind!r}; use message or ping")

    async def _post(self, caller: Caller, frame: Frame) -> None:
        body, ref = frame.get("body"), frame.get("ref")
        if not isinstance(body, str) or (ref is not None and not isinstance(ref, str | int)):
            await self._error("bad_frame", "message needs a string body (and ref, if any)")
            return
        try:
            stored = await self._ctx.service.post_message(caller, self._ticket_id, body)
        except ServiceError as exc:
            await self._error(exc.code, exc.message, ref)
            return
        await self._send({"type": "ack", "ref": ref, "seq": stored.seq})

    # --- sending ------------------------------------------------------------------------------

    async def _send_loop(self, inbox: Inbox, after: int) -> None:
        order = Sequencer(after)
        await self._replay(order)
        grace = self._ctx.settings.ws_gap_grace_seconds
        while True:
            try:
                notice = await within(
                    self._ctx.clock, grace if order.waiting else None, inbox.get()
                )
            except InboxClosed as closed:
                raise _closing(closed.reason) from None
            except TimeoutError:
                start, upto = order.gap
                found = await self._ctx.service.messages_between(self._ticket_id, start, upto)
                await self._deliver(order.fill([message_frame(m) for m in found]))
                continue
            frame: Frame = notice.message
            if frame.get("type") == "message":
                await self._deliver(order.accept(frame))
            else:
                await self._send(frame)

    async def _replay(self, order: Sequencer) -> None:
        cursor = order.last
        while True:
            page = await self._ctx.service.repo.messages(self._ticket_id, cursor, REPLAY_BATCH)
            for message in page:
                await self._deliver(order.accept(message_frame(MessageView.of(message))))
            if len(page) < REPLAY_BATCH:
                return
            cursor = page[-1].seq

    async def _deliver(self, frames: list[Frame]) -> None:
        for frame in frames:
            await self._send(frame)

    async def _error(self, code: str, message: str, ref: Any = None) -> None:
        frame: Frame = {"type": "error", "code": code, "message": message}
        if ref is not None:
            frame["ref"] = ref
        await self._send(frame)

    async def _send(self, frame: Frame) -> None:
        async with self._send_lock:
            await self._ws.send_text(json.dumps(frame))

    async def _close(self, code: int, reason: str) -> None:
        if self._ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await within(
                    self._ctx.clock, CLOSE_TIMEOUT_SECONDS, self._ws.close(code, reason[:120])
                )


async def _watch(inbox: Inbox) -> None:
    """End the connection when its inbox closes, even while a send is stuck on the client."""
    raise _closing(await inbox.wait_closed())


def _closing(reason: str) -> Close:
    if reason == OVERFLOW:
        return Close(1013, "too slow: reconnect with ?after=<last seq>")
    return Close(1012, "live chat channel lost: reconnect with ?after=<last seq>")


async def _first_to_finish(*work: Any) -> None:
    """Run the loops together; the first to end (or fail) ends the others."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
