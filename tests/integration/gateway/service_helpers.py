"""Helpers for gateway service tests: clusters with a gateway, accounts, GraphQL calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from estore.cluster import Cluster
from estore.kit.identity import Role
from estore.services.auth.models import Registration
from estore.services.auth.service import AuthService

PASSWORD = "long enough 1"


@asynccontextmanager
async def gateway_cluster(
    services: list[str], subgraphs: str, **overrides: Any
) -> AsyncIterator[Cluster]:
    cluster = Cluster(
        services=[*services, "gateway"],
        overrides={
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            "gateway_subgraphs": subgraphs,
            **overrides,
        },
    )
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any] | None = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = dict(variables)
    return await client.post("/graphql", json=body, headers=sent)


async def account(cluster: Cluster, email: str, *roles: Role) -> tuple[str, str]:
    """Register straight through the auth use cases; returns (user id, access token)."""
    form = Registration(email=email, password=PASSWORD, name=email.split("@")[0])
    pair = await cluster.service("auth", AuthService).register(form, roles=list(roles) or None)
    return pair.user.id, pair.access_token
