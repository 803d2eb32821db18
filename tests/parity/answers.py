"""Sending one request to both gateways, and the form in which their answers are compared.

Data must be equal. Errors are compared as (path, code, serviceName) after sorting: message
texts are each implementation's own, so they are not compared.
"""

from __future__ import annotations

from typing import Any

import httpx

from estore.cluster import Cluster
from tests.parity.conftest import graphql_url

CARD = "4242424242424242"


async def ask(
    url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(url, json=body, headers=headers)
    answer: dict[str, Any] = response.json()
    return answer


def error_signature(error: dict[str, Any]) -> tuple[Any, ...]:
    extensions = error.get("extensions") or {}
    path = tuple(error["path"]) if error.get("path") else None
    return (path, extensions.get("code"), extensions.get("serviceName"))


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """What must agree between the gateways: data, and each error's path, code and subgraph."""
    return {
        "data": answer.get("data"),
        "errors": sorted((error_signature(e) for e in answer.get("errors") or []), key=repr),
    }


async def login(cluster: Cluster, email: str, password: str) -> str:
    async with cluster.client("auth") as auth:
        response = await auth.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
    token: str = response.json()["access_token"]
    return token


async def place_order(cluster: Cluster, token: str, key: str) -> str:
    """A confirmed order through our gateway, for queries that walk orders to categories."""
    products = await ask(
        graphql_url(cluster, "gateway"), "{ products(first: 2, sort: NAME) { nodes { id } } }"
    )
    items = [
        {"productId": node["id"], "quantity": 1} for node in products["data"]["products"]["nodes"]
    ]
    created = await ask(
        graphql_url(cluster, "gateway"),
        "mutation($input: CreateOrderInput!) { createOrder(input: $input) { id status } }",
        {"input": {"items": items, "cardNumber": CARD, "idempotencyKey": key}},
        token,
    )
    order = created["data"]["createOrder"]
    assert order["status"] == "CONFIRMED", created
    order_id: str = order["id"]
    return order_id
