"""Subgraph calls over the kit's service clients: operations for the engine, and SDL fetches.

Each call goes through `infra.clients[name]`, so it has a deadline, a circuit breaker, the
fault seam, and the forwarded caller (the clients add `caller_headers()` from the context).
Queries are retried on transient failures; mutations are sent once, since a retry could
apply them twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from estore.kit.clients import ServiceClient
from estore.kit.jsoncodec import loads

SDL_QUERY = "query __ApolloGetServiceDefinition__ { _service { sdl } }"


class SubgraphAnswerError(Exception):
    """A subgraph answered, but not with a GraphQL response the gateway can use."""


class ClientFetcher:
    """The engine's SubgraphFetcher over the kit's ServiceClients, one per subgraph."""

    def __init__(
        self, clients: Mapping[str, ServiceClient], deadline: float, path: str = "/graphql"
    ) -> None:
        self._clients = clients
        self._deadline = deadline
        # Our subgraphs serve /graphql under their base URL; a supergraph's URLs are complete.
        self._path = path

    def client(self, subgraph: str) -> ServiceClient:
        return self._clients[subgraph]

    @property
    def clients(self) -> Mapping[str, ServiceClient]:
        return self._clients

    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        client = self._clients[subgraph]
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        response = await client.post(
            self._path,
            json=body,
            headers=headers,
            idempotent=not query.startswith("mutation"),
            deadline=self._deadline,
        )
        return graphql_body(subgraph, response)


def graphql_body(subgraph: str, response: httpx.Response) -> dict[str, Any]:
    """The {data, errors} of a subgraph answer; anything else is a failure of that subgraph."""
    try:
        body = loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and ("data" in body or "errors" in body):
        return body
    raise SubgraphAnswerError(
        f"{subgraph} answered {response.status_code} without a GraphQL response"
    )


async def fetch_sdl(client: ServiceClient, deadline: float, path: str = "/graphql") -> str:
    response = await client.post(
        path, json={"query": SDL_QUERY}, idempotent=True, deadline=deadline
    )
    body = graphql_body(client.name, response)
    sdl = ((body.get("data") or {}).get("_service") or {}).get("sdl")
    if not isinstance(sdl, str):
        raise SubgraphAnswerError(f"{client.name} gave no _service.sdl: {body.get('errors')}")
    return sdl


async def fetch_sdls(
    clients: Mapping[str, ServiceClient],
    names: tuple[str, ...],
    deadline: float,
    path: str = "/graphql",
) -> dict[str, str]:
    """Every named subgraph's SDL, fetched in parallel; the first failure is raised."""
    sdls = await asyncio.gather(*(fetch_sdl(clients[name], deadline, path) for name in names))
    return dict(zip(names, sdls, strict=True))
