"""Walks the authorisation matrix: finds every route and field, asks each as every caller.

`discover(cluster)` lists what the apps serve (FastAPI routes, WebSocket routes, each
subgraph's and the gateway's root fields, each subgraph's entity types), so a new route or
field without a row fails the walk. `walk(world, matrix)` sends each row's request as each
kind of caller and returns the cells that answered otherwise than the table says.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.routing import APIWebSocketRoute
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
)
from starlette.routing import WebSocketRoute

from estore.cluster import Cluster
from tests.authz.world import CALLERS, MERCHANT, World

MATRIX = Path(__file__).with_name("matrix.toml")
KINDS = ("rest", "websocket", "graphql", "entity")
KEYS = {"rest": "route", "websocket": "route", "graphql": "field", "entity": "type"}
# Route parameters, filled from the world: `{order_id}` is the customer's order.
PATH_PARAMS = {
    "user_id": "owner",
    "product_id": "product",
    "category_id": "category",
    "slug": "slug",
    "code": "coupon",
    "reservation_id": "reservation",
    "charge_id": "charge",
    "order_id": "order",
    "ticket_id": "ticket",
}
# A refusal is one of these; anything else a cell expects must be "ok".
REFUSALS = frozenset(
    {
        *("401", "403", "404", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"),
        # WebSocket closes: credentials refused, not yours, and "this socket admits nobody".
        *("4401", "4403", "4404", "4406"),
    }
)
# Codes that mean the request itself or the service broke, never an answer about rights.
BROKEN_CODES = frozenset(
    {
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_PARSE_FAILED",
        "BAD_USER_INPUT",
        "INTERNAL",
        "INTERNAL_SERVER_ERROR",
        "DOWNSTREAM_SERVICE_ERROR",
        "UNAVAILABLE",
    }
)
# A 4xx that answers the request on its merits: the caller got past the authorisation.
MERITS_STATUSES = frozenset({400, 405, 409, 422, 429})


@dataclass(frozen=True, order=True)
class Target:
    """One thing a caller can ask a service: a route, a root field or an entity type."""

    app: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.app} {self.kind} {self.name}"


@dataclass(frozen=True)
class Row:
    target: Target
    expect: dict[str, str]
    request: dict[str, Any]


@dataclass(frozen=True)
class Cell:
    target: Target
    caller: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.target} as {self.caller}: expected {self.expected}, got {self.got}"


class MatrixError(Exception):
    """The table itself is wrong: a row names nothing, misses a caller, or expects junk."""


# --- the table --------------------------------------------------------------------------------


def callers_of(target: Target) -> tuple[str, ...]:
    return (*CALLERS, MERCHANT) if target.app == "payment" else CALLERS


def _expectations(target: Target, given: dict[str, Any]) -> dict[str, str]:
    callers = callers_of(target)
    unknown = set(given) - {*callers, "all"}
    if unknown:
        raise MatrixError(f"{target}: unknown callers {sorted(unknown)}")
    expect = {}
    for caller in callers:
        if caller not in given and "all" not in given:
            raise MatrixError(f"{target}: no cell for caller {caller!r}")
        value = str(given.get(caller, given.get("all")))
        if value != "ok" and value not in REFUSALS:
            raise MatrixError(f"{target} as {caller}: {value!r} is neither ok nor a refusal")
        expect[caller] = value
    return expect


def _expanded(entry: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
    """A row naming several apps (or routes) is one row for each."""
    apps = entry.get("app")
    names = entry.get(key)
    for app in apps if isinstance(apps, list) else [apps]:
        for name in names if isinstance(names, list) else [names]:
            yield {**entry, "app": app, key: name}


def rows_of(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for kind in KINDS:
        for given in data.get(kind, []):
            key = KEYS[kind]
            if key not in given or "app" not in given:
                raise MatrixError(f"a [[{kind}]] row needs app and {key}: {given}")
            for entry in _expanded(given, key):
                target = Target(str(entry["app"]), kind, str(entry[key]))
                request = {k: v for k, v in entry.items() if k not in ("app", "expect", key)}
                expect = _expectations(target, entry.get("expect", {}))
                rows.append(Row(target, expect, request))
    unknown = set(data) - set(KINDS)
    if unknown:
        raise MatrixError(f"unknown tables {sorted(unknown)}; known: {KINDS}")
    seen: set[Target] = set()
    for row in rows:
        if row.target in seen:
            raise MatrixError(f"{row.target} has two rows")
        seen.add(row.target)
    return rows


def load(path: Path = MATRIX) -> list[Row]:
    with path.open("rb") as file:
        return rows_of(tomllib.load(file))


def coverage(rows: Iterable[Row], served: Iterable[Target]) -> tuple[list[Target], list[Target]]:
    """(served but without a row, rows naming nothing served), each sorted."""
    listed = {row.target for row in rows}
    actual = set(served)
    return sorted(actual - listed), sorted(listed - actual)


# --- what the apps serve ----------------------------------------------------------------------


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI's included router
            yield from _routes(route.effective_candidates())
        else:
            yield route


def rest_targets(cluster: Cluster) -> Iterator[Target]:
    for app_name, app in cluster.apps.items():
        for route in _routes(app.routes):
            original = getattr(route, "original_route", route)
            path = getattr(getattr(route, "starlette_route", None), "path", None) or route.path
            if isinstance(original, APIWebSocketRoute | WebSocketRoute):
                yield Target(app_name, "websocket", f"WS {path}")
                continue
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield Target(app_name, "rest", f"{method} {path}")


async def subgraph_schema(cluster: Cluster, app: str) -> GraphQLSchema:
    async with cluster.client(app) as client:
        response = await client.post("/graphql", json={"query": get_introspection_query()})
    return build_client_schema(response.json()["data"])


async def gateway_schema(cluster: Cluster) -> GraphQLSchema:
    gateway = await cluster.apps["gateway"].state.runtime.current()
    schema: GraphQLSchema = gateway.schema
    return schema


def graphql_apps(cluster: Cluster) -> list[str]:
    return [
        name
        for name, app in cluster.apps.items()
        if name != "gateway"
        and any(getattr(r, "path", "") == "/graphql" for r in _routes(app.routes))
    ]


async def schemas(cluster: Cluster) -> dict[str, GraphQLSchema]:
    found = {name: await subgraph_schema(cluster, name) for name in graphql_apps(cluster)}
    return {**found, "gateway": await gateway_schema(cluster)}


def graphql_targets(app: str, schema: GraphQLSchema) -> Iterator[Target]:
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is None:
            continue
        for field in root.fields:
            if field.startswith("_"):
                continue  # _service and _entities: the federation's own, rows of their own
            yield Target(app, "graphql", f"{root.name}.{field}")
    entities = schema.get_type("_Entity")
    for member in getattr(entities, "types", ()):
        yield Target(app, "entity", member.name)


async def discover(cluster: Cluster) -> tuple[list[Target], dict[str, GraphQLSchema]]:
    found = list(rest_targets(cluster))
    graphs = await schemas(cluster)
    for app, schema in graphs.items():
        found += graphql_targets(app, schema)
    return sorted(found), graphs


# --- asking -----------------------------------------------------------------------------------


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def rest_outcome(response: httpx.Response) -> str:
    status = response.status_code
    if status == 404 or _error_code(response).endswith("not_found"):
        return "404"  # hidden: a thing not the caller's is answered as one that does not exist
    if status < 300 or status in MERITS_STATUSES:
        return "ok"
    return str(status)


def graphql_outcome(response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return str(response.status_code)  # a bad credential, refused before any field ran
    if response.status_code != 200:
        return f"http {response.status_code}"
    return errors_outcome(response.json().get("errors"))


def errors_outcome(errors: list[dict[str, Any]] | None) -> str:
    if not errors:
        return "ok"
    code = str((errors[0].get("extensions") or {}).get("code"))
    if code in REFUSALS:
        return code
    if code in BROKEN_CODES or code == "None":
        return f"broken {code}: {errors[0].get('message')}"
    return "ok"  # a domain answer (a conflict, a bad input): the caller got past the checks


def _selection(schema: GraphQLSchema, root: str, field: str) -> str:
    root_type = schema.get_type(root)
    assert isinstance(root_type, GraphQLObjectType), root
    return "" if is_leaf_type(get_named_type(root_type.fields[field].type)) else " { __typename }"


def graphql_document(schema: GraphQLSchema, target: Target, args: str) -> str:
    root, field = target.name.split(".", 1)
    operation = {"Query": "query", "Mutation": "mutation", "Subscription": "subscription"}[root]
    arguments = f"({args})" if args else ""
    return f"{operation} {{ {field}{arguments}{_selection(schema, root, field)} }}"


def _tag(row: Row, caller: str) -> str:
    return f"{row.target.app}-{caller}"


def _placeholders(template: str) -> str:
    for param, name in PATH_PARAMS.items():
        template = template.replace(f"{{{param}}}", f"<{name}>")
    return template


async def ask_rest(world: World, row: Row, caller: str) -> str:
    method, template = row.target.name.split(" ", 1)
    path = world.fill(row.request.get("path", _placeholders(template)), _tag(row, caller))
    body = world.filled(row.request.get("body"), _tag(row, caller))
    params = world.filled(row.request.get("query"), _tag(row, caller))
    async with world.cluster.client(row.target.app, headers=world.headers(caller)) as client:
        response = await client.request(method, path, json=body, params=params)
    return rest_outcome(response)


async def ask_graphql(world: World, row: Row, caller: str, schema: GraphQLSchema) -> str:
    document = graphql_document(
        schema, row.target, world.fill(row.request.get("args", ""), _tag(row, caller))
    )
    if row.target.name.startswith("Subscription."):
        return await ask_subscription(world, document, caller)
    async with world.cluster.client(row.target.app, headers=world.headers(caller)) as client:
        response = await client.post("/graphql", json={"query": document})
    return graphql_outcome(response)


async def ask_entity(world: World, row: Row, caller: str) -> str:
    representation = {
        "__typename": row.target.name,
        **world.filled(row.request["key"], _tag(row, caller)),
    }
    query = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    async with world.cluster.client(row.target.app, headers=world.headers(caller)) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": {"r": [representation]}}
        )
    return graphql_outcome(response)


class Socket:
    """A WebSocket client driving an ASGI app in-process: no server, no sockets, no timers."""

    def __init__(self, app: Any, path: str, headers: dict[str, str], subprotocols: list[str]):
        self._app = app
        path, _, query = path.partition("?")
        self._scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("203.0.113.9", 50000),
            "server": ("testserver", 80),
            "subprotocols": subprotocols,
        }
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Socket:
        await self._to_app.put({"type": "websocket.connect"})
        self._task = asyncio.create_task(
            self._app(self._scope, self._to_app.get, self._from_app.put)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def _ended(self) -> str:
        assert self._task is not None and self._task.done()
        error = None if self._task.cancelled() else self._task.exception()
        return f"app ended: {error!r}" if error else "app ended"

    async def send(self, frame: dict[str, Any]) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": json.dumps(frame)})

    async def event(self) -> dict[str, Any]:
        """The app's next event: accept, a frame (decoded) or a close; an app that ended
        without closing counts as a close (1006), with its exception if it raised one."""
        assert self._task is not None
        if self._from_app.empty() and not self._task.done():
            waiting = asyncio.ensure_future(self._from_app.get())
            await asyncio.wait({waiting, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                return {"type": "websocket.close", "code": f"1006 {self._ended()}"}
            message = waiting.result()
        elif self._from_app.empty():
            return {"type": "websocket.close", "code": f"1006 {self._ended()}"}
        else:
            message = self._from_app.get_nowait()
        if message["type"] == "websocket.send":
            return {"type": "frame", "frame": json.loads(message["text"])}
        return message

    async def frame(self) -> dict[str, Any] | str:
        """The next frame, or the close code as text when the app closed instead."""
        while True:
            event = await self.event()
            if event["type"] == "websocket.close":
                return str(event.get("code", 1000))
            if event["type"] == "frame":
                frame: dict[str, Any] = event["frame"]
                return frame


async def ask_chat(world: World, row: Row, caller: str) -> str:
    """Ticket chat: header credentials, else the first frame's token; "ready" means admitted."""
    template = _placeholders(row.target.name.removeprefix("WS "))
    path = world.fill(row.request.get("path", template), _tag(row, caller))
    app = world.cluster.apps[row.target.app]
    async with Socket(app, path, world.headers(caller), []) as socket:
        await socket.send({"type": "auth", "token": world.token(caller) or ""})
        answer = await socket.frame()
    if isinstance(answer, str):
        return answer
    return "ok" if answer.get("type") == "ready" else f"frame {answer}"


async def ask_subscription(world: World, document: str, caller: str) -> str:
    """Gateway subscriptions over graphql-transport-ws; a notice proves the stream is open."""
    app = world.cluster.apps["gateway"]
    token = world.token(caller)
    init = {"authorization": f"Bearer {token}"} if token else {}
    async with Socket(app, "/graphql", world.headers(caller), ["graphql-transport-ws"]) as ws:
        await ws.send({"type": "connection_init", "payload": init})
        acked = await ws.frame()
        if isinstance(acked, str):
            return acked
        await ws.send({"id": "1", "type": "subscribe", "payload": {"query": document}})
        answer = await _first_answer(world, ws)
    if isinstance(answer, str):
        return answer
    if answer.get("type") == "next":
        return "ok"
    if answer.get("type") == "error":
        return errors_outcome(answer.get("payload"))
    return f"frame {answer}"


async def _first_answer(world: World, ws: Socket) -> dict[str, Any] | str:
    """The subscription's first frame: a refusal, or (once it watches) the notice it got."""
    hub = world.cluster.apps["gateway"].state.hub
    order = world.ids["order"]
    answer = asyncio.ensure_future(ws.frame())
    watching = asyncio.ensure_future(hub.until_watching(order, hub.watching(order) + 1))
    await asyncio.wait({answer, watching}, return_when=asyncio.FIRST_COMPLETED)
    if not answer.done():
        hub.dispatch({"order_id": order, "customer_id": world.ids["owner"], "status": "PAID"})
    watching.cancel()
    return await answer


async def ask(world: World, row: Row, caller: str, graphs: dict[str, GraphQLSchema]) -> str:
    kind = row.target.kind
    if kind == "rest":
        return await ask_rest(world, row, caller)
    if kind == "entity":
        return await ask_entity(world, row, caller)
    if kind == "graphql":
        return await ask_graphql(world, row, caller, graphs[row.target.app])
    if row.target.name == "WS /graphql" and row.target.app == "gateway":
        return await ask_subscription(
            world, world.fill(row.request["operation"], _tag(row, caller)), caller
        )
    if row.target.name == "WS /graphql":
        return await ask_subgraph_socket(world, row, caller)
    return await ask_chat(world, row, caller)


async def ask_subgraph_socket(world: World, row: Row, caller: str) -> str:
    """A subgraph's GraphQL WebSocket, asked the row's operation as the HTTP rows are."""
    app = world.cluster.apps[row.target.app]
    payload = {
        "query": world.fill(row.request["operation"], _tag(row, caller)),
        "variables": world.filled(row.request.get("variables", {}), _tag(row, caller)),
    }
    async with Socket(app, "/graphql", world.headers(caller), ["graphql-transport-ws"]) as ws:
        await ws.send({"type": "connection_init", "payload": {}})
        acked = await ws.frame()
        if isinstance(acked, str):
            return acked
        await ws.send({"id": "1", "type": "subscribe", "payload": payload})
        answer = await ws.frame()
    if isinstance(answer, str):
        return answer
    if answer.get("type") == "next":
        return errors_outcome(answer["payload"].get("errors"))
    if answer.get("type") == "error":
        return errors_outcome(answer.get("payload"))
    return f"frame {answer}"


async def walk(world: World, rows: Iterable[Row], graphs: dict[str, GraphQLSchema]) -> list[Cell]:
    """Every cell that answered otherwise than its row says."""
    wrong: list[Cell] = []
    for row in rows:
        for caller in callers_of(row.target):
            got = await ask(world, row, caller, graphs)
            if got != row.expect[caller]:
                wrong.append(Cell(row.target, caller, row.expect[caller], got))
    return wrong
