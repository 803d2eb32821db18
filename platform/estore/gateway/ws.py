"""GraphQL over WebSocket, the graphql-transport-ws protocol (enisdenjo/graphql-ws PROTOCOL.md).

connection_init (payload `{"authorization": "Bearer <token>"}`) -> connection_ack; then
subscribe/next/error/complete per operation id, ping/pong at any time. Subscriptions stream;
queries and mutations answer once (next, complete) through the same engine as HTTP.
Close codes: 4400 invalid message, 4401 subscribe before ack, 4403 no or bad credentials,
4406 wrong subprotocol, 4408 no connection_init in time, 4409 operation id in use, 4429 a
second connection_init; 1013 when token keys are unavailable (try again later).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from estore.gateway.edge import client_forwarding
from estore.gateway.errors import CompositionError
from estore.gateway.gateway import Gateway
from estore.gateway.limits import check_limits
from estore.gateway.runtime import GatewayRuntime, SubgraphsUnavailable
from estore.gateway.subscriptions import OrderStatusHub, Subscription, may_watch, subscription_of
from estore.kit.clock import Clock, timeout_scope
from estore.kit.identity import (
    Caller,
    IdentityRefused,
    InternalIdentity,
    KeysUnavailable,
    acting_as,
)

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"


@dataclass(frozen=True)
class Session:
    """Who opened the socket, and until when their token vouches for them."""

    caller: Caller
    expires_at: datetime | None = None


Authenticate = Callable[[Mapping[str, Any]], Awaitable[Session]]
# Whether `caller` may watch the order: True, False (not theirs, or no such order), or an
# exception when that cannot be known now.
MayWatch = Callable[[Caller, str], Awaitable[bool]]


class Closed(Exception):
    """The peer went away; nothing more can be sent."""


class Socket(Protocol):
    async def receive_text(self) -> str:
        """The next text message; raises Closed when the peer has gone."""
        ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class _CloseWith(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _errors(*messages: str, code: str | None = None) -> list[dict[str, Any]]:
    extensions = {"extensions": {"code": code}} if code else {}
    return [{"message": m, **extensions} for m in messages]


class Connection:
    """One socket's protocol state: its caller, its running operations."""

    def __init__(
        self,
        socket: Socket,
        *,
        runtime: GatewayRuntime,
        hub: OrderStatusHub,
        authenticate: Authenticate,
        may_watch_order: MayWatch,
        identity: InternalIdentity,
        clock: Clock,
        init_timeout: float,
        max_operations: int,
        client_host: str | None = None,
    ) -> None:
        self._socket = socket
        self._runtime = runtime
        self._hub = hub
        self._authenticate = authenticate
        self._may_watch_order = may_watch_order
        self._identity = identity
        self._clock = clock
        self._init_timeout = init_timeout
        self._max_operations = max_operations
        self._client_host = client_host
        self._operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def serve(self) -> None:
        try:
            session = await self._handshake()
            await self._serve_until_expiry(session)
        except _CloseWith as close:
            await self._socket.close(close.code, close.reason)
        except Closed:
            pass
        finally:
            for task in self._operations.values():
                task.cancel()
            await asyncio.gather(*self._operations.values(), return_exceptions=True)

    async def _receive(self) -> dict[str, Any]:
        raw = await self._socket.receive_text()
        try:
            message = json.loads(raw)
        except ValueError:
            raise _CloseWith(4400, "Invalid message: not JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _CloseWith(4400, "Invalid message: an object with a 'type' is expected")
        return message

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._socket.send_text(json.dumps(message))

    async def _serve_until_expiry(self, session: Session) -> None:
        """Handle messages while the token holds; then close, as a new connection would be
        refused (a socket must not outlive the access token that opened it)."""
        if session.expires_at is None:
            while True:
                await self._handle(await self._receive(), session.caller)
        remaining = (session.expires_at - self._clock.now()).total_seconds()
        scope = timeout_scope(self._clock, max(remaining, 0.0))
        try:
            async with scope:
                while True:
                    await self._handle(await self._receive(), session.caller)
        except TimeoutError:
            if not scope.expired():
                raise
            raise _CloseWith(
                4403, "Forbidden: the token expired; reconnect with a new one"
            ) from None

    async def _handshake(self) -> Session:
        scope = timeout_scope(self._clock, self._init_timeout)
        try:
            async with scope:
                while True:
                    message = await self._receive()
                    kind = message["type"]
                    if kind == "connection_init":
                        break
                    if kind == "ping":
                        await self._send({"type": "pong"})
                    elif kind == "subscribe":
                        raise _CloseWith(4401, "Unauthorized")
                    elif kind != "pong":
                        raise _CloseWith(4400, f"Invalid message: '{kind}' before connection_init")
        except TimeoutError:
            if not scope.expired():
                raise
            raise _CloseWith(4408, "Connection initialisation timeout") from None
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            raise _CloseWith(4400, "Invalid message: connection_init payload must be an object")
        try:
            session = await self._authenticate(payload)
        except IdentityRefused as exc:
            raise _CloseWith(4403, f"Forbidden: {exc.reason}") from None
        except KeysUnavailable:
            raise _CloseWith(1013, "Token keys unavailable; try again later") from None
        await self._send({"type": "connection_ack"})
        return session

    async def _handle(self, message: dict[str, Any], caller: Caller) -> None:
        kind = message["type"]
        if kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "connection_init":
            raise _CloseWith(4429, "Too many initialisation requests")
        elif kind == "subscribe":
            self._start(message, caller)
        elif kind == "complete":
            task = self._operations.pop(str(message.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            raise _CloseWith(4400, f"Invalid message: unknown type '{kind}'")

    def _start(self, message: dict[str, Any], caller: Caller) -> None:
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not op_id:
            raise _CloseWith(4400, "Invalid message: subscribe needs a non-empty string 'id'")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise _CloseWith(4400, "Invalid message: subscribe needs a payload with a 'query'")
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise _CloseWith(4400, "Invalid message: 'variables' must be an object")
        if op_id in self._operations:
            raise _CloseWith(4409, f"Subscriber for {op_id} already exists")
        if len(self._operations) >= self._max_operations:
            task = asyncio.create_task(
                self._send(
                    {"id": op_id, "type": "error", "payload": _errors("Too many operations")}
                )
            )
        else:
            task = asyncio.create_task(self._operate(op_id, payload, caller))
        self._operations[op_id] = task
        task.add_done_callback(lambda done: self._forget(op_id, done))

    def _forget(self, op_id: str, task: asyncio.Task[None]) -> None:
        if self._operations.get(op_id) is task:
            del self._operations[op_id]

    async def _operate(self, op_id: str, payload: dict[str, Any], caller: Caller) -> None:
        """Run one operation; a failure ends it with an error, never leaves the client waiting."""
        try:
            await self._run_operation(op_id, payload, caller)
        except (asyncio.CancelledError, Closed):
            raise
        except Exception:
            log.exception("operation %s failed", op_id)
            errors = _errors("The operation failed inside the gateway", code="INTERNAL")
            await self._send({"id": op_id, "type": "error", "payload": errors})

    async def _run_operation(self, op_id: str, payload: dict[str, Any], caller: Caller) -> None:
        try:
            gateway = await self._runtime.current()
        except (SubgraphsUnavailable, CompositionError):
            errors = _errors("The gateway has no composed schema yet", code="UNAVAILABLE")
            await self._send({"id": op_id, "type": "error", "payload": errors})
            return
        query, name = payload["query"], payload.get("operationName")
        variables = payload.get("variables") or {}
        planned = _subscription(gateway, query, name, variables)
        if isinstance(planned, list):
            await self._send({"id": op_id, "type": "error", "payload": planned})
        elif planned is None:
            client = client_forwarding(self._client_host, self._identity)
            with acting_as(caller, self._identity):
                result = await gateway.execute(query, variables, name, client)
            if "data" not in result:
                await self._send({"id": op_id, "type": "error", "payload": result["errors"]})
                return
            await self._send({"id": op_id, "type": "next", "payload": result})
            await self._send({"id": op_id, "type": "complete"})
        else:
            await self._stream(op_id, planned, caller)

    async def _stream(self, op_id: str, subscription: Subscription, caller: Caller) -> None:
        refusal = await self._refusal(caller, subscription.order_id)
        if refusal is not None:
            await self._send({"id": op_id, "type": "error", "payload": refusal})
            return
        async with self._hub.watch(subscription.order_id) as notices:
            while True:
                notice = await notices.get()
                if not may_watch(caller, notice):
                    errors = _errors("This order is not yours to watch", code="FORBIDDEN")
                    await self._send({"id": op_id, "type": "error", "payload": errors})
                    return
                payload = subscription.result(notice)
                await self._send({"id": op_id, "type": "next", "payload": payload})

    async def _refusal(self, caller: Caller, order_id: str) -> list[dict[str, Any]] | None:
        """Why `caller` may not watch the order, asked before subscribing; None when allowed.

        Each notice is checked again, so an order changing hands cannot leak either.
        """
        try:
            allowed = await self._may_watch_order(caller, order_id)
        except Exception as exc:
            log.warning("cannot tell who may watch order %s: %s", order_id, exc)
            return _errors("Cannot check this order right now; try again", code="UNAVAILABLE")
        if allowed:
            return None
        return _errors("No such order of yours to watch", code="FORBIDDEN")


def _subscription(
    gateway: Gateway, query: str, name: str | None, variables: dict[str, Any]
) -> Subscription | list[dict[str, Any]] | None:
    """The Subscription to stream, errors to send, or None for a query or mutation."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return [dict(error.formatted)]
    operation = get_operation_ast(document, name)
    if operation is None or operation.operation.value != "subscription":
        return None
    schema = gateway.schema
    rules = list(specified_rules)
    if not gateway.limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    errors = validate(schema, document, rules)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    errors = errors or check_limits(schema, operation, fragments, gateway.limits, variables)
    if errors:
        return [dict(e.formatted) for e in errors]
    planned = subscription_of(schema, document, operation, name, variables)
    return [dict(e.formatted) for e in planned] if isinstance(planned, list) else planned
