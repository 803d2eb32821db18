"""Small federated subgraphs over fixed data, all served from one loopback port.

Each corpus graph's subgraphs are an SDL and a data map: root fields read `data["Query"]`,
`_entities` finds each representation in `data["entities"][typename]` by one of the type's
keys (the representation is merged in, so @requires inputs reach the resolvers), a callable
value is a resolver `(parent, **arguments)`, and one that raises is a field error. Subgraph
`s` of graph `g` listens at `/g/s/graphql`, the URL its supergraph names.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from graphql import (
    ExecutionResult,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    get_named_type,
    graphql,
    print_schema,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from estore.gateway.sdl import read_subgraph
from estore.gateway.supergraph import field_set_names, parse_field_set

START_GUARD_SECONDS = 15
Data = Mapping[str, Any]


class StaticSubgraph:
    """One subgraph: its federation schema (`_entities`, `_service`) over `data`."""

    def __init__(self, name: str, sdl: str, data: Data) -> None:
        self.sdl = sdl
        self.data = data
        subgraph = read_subgraph(name, sdl)
        self.keys = {
            type_name: [field_set_names(parse_field_set(k.fields)) for k in sub_type.keys]
            for type_name, sub_type in subgraph.types.items()
            if sub_type.keys
        }
        self.schema = _federation_schema(print_schema(subgraph.schema), sorted(self.keys))

    async def execute(self, body: Mapping[str, Any]) -> ExecutionResult:
        return await graphql(
            self.schema,
            str(body.get("query", "")),
            root_value=self,
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
            field_resolver=self._resolve,
            type_resolver=_typename,
        )

    def _resolve(self, parent: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        if parent is self:
            value = self._root(info, arguments)
        else:
            value = parent.get(info.field_name) if isinstance(parent, Mapping) else None
            value = value(parent, **arguments) if callable(value) else value
        return self._completed(value, get_named_type(info.return_type).name)

    def _completed(self, value: Any, type_name: str) -> Any:
        """A reference to an entity (its key) completed with this subgraph's data for it."""
        if isinstance(value, list):
            return [self._completed(item, type_name) for item in value]
        if not isinstance(value, Mapping):
            return value
        named = value.get("__typename", type_name)
        if named not in self.keys:
            return value
        found = self._entity({**value, "__typename": named})
        return {**found, **value} if found is not None else value

    def _root(self, info: GraphQLResolveInfo, arguments: dict[str, Any]) -> Any:
        if info.field_name == "_service":
            return {"sdl": self.sdl}
        if info.field_name == "_entities":
            return [self._entity(rep) for rep in arguments["representations"]]
        value = self.data.get(info.parent_type.name, {}).get(info.field_name)
        return value(None, **arguments) if callable(value) else value

    def _entity(self, representation: Mapping[str, Any]) -> Any:
        type_name = representation["__typename"]
        for candidate in self.data.get("entities", {}).get(type_name, ()):
            for names in self.keys.get(type_name, ()):
                if all(candidate.get(n) == representation.get(n) for n in names):
                    return {**candidate, **representation}
        return None


def _typename(value: Any, *_: Any) -> str | None:
    return value.get("__typename") if isinstance(value, Mapping) else None


def _federation_schema(plain_sdl: str, entities: list[str]) -> GraphQLSchema:
    extra = ["scalar _Any", "type _Service { sdl: String }"]
    root = "_service: _Service!"
    if entities:
        extra.append(f"union _Entity = {' | '.join(entities)}")
        root += " _entities(representations: [_Any!]!): [_Entity]!"
    query = "extend type Query" if re.search(r"^type Query\b", plain_sdl, re.M) else "type Query"
    return build_schema("\n".join([plain_sdl, *extra, f"{query} {{ {root} }}"]))


def subgraph_app(subgraphs: Mapping[tuple[str, str], StaticSubgraph]) -> Starlette:
    """Serves subgraph (graph, name) at /graph/name/graphql."""

    async def endpoint(request: Request) -> JSONResponse:
        key = (request.path_params["graph"], request.path_params["name"])
        subgraph = subgraphs.get(key)
        if subgraph is None:
            return JSONResponse({"errors": [{"message": f"no subgraph {key}"}]}, status_code=404)
        result = await subgraph.execute(await request.json())
        return JSONResponse(result.formatted)

    return Starlette(routes=[Route("/{graph}/{name}/graphql", endpoint, methods=["POST"])])


@asynccontextmanager
async def serving_subgraphs(
    subgraphs: Mapping[tuple[str, str], StaticSubgraph], port: int
) -> AsyncIterator[None]:
    """All `subgraphs` on 127.0.0.1:port until the block ends."""
    config = uvicorn.Config(
        subgraph_app(subgraphs), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.wait_for(server.ready.wait(), START_GUARD_SECONDS)
        yield
    finally:
        server.should_exit = True
        await task


class _Server(uvicorn.Server):
    """A uvicorn server that says when it listens, and leaves signals to the test process."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
