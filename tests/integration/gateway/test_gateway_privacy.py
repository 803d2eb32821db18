"""Through the gateway, a user's private fields reach only the user and staff (issue 17, #7)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import Role
from tests.integration.gateway.service_helpers import account, gateway_cluster, graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

AUTHORS = """query($id: ID!) {
  product(id: $id) { reviews { author { id name email roles } } }
}"""


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    async with gateway_cluster(["auth", "category", "product"], "auth,product") as built:
        yield built


async def reviewed_product(cluster: Cluster, author_token: str, admin_token: str) -> str:
    form = {"sku": "PRIV-1", "name": "Private", "price": {"amount": 500, "currency": "EUR"}}
    async with cluster.client("product") as product:
        made = await product.post(
            "/api/v1/products", json=form, headers={"Authorization": f"Bearer {admin_token}"}
        )
        assert made.status_code == 201, made.text
        review = await product.post(
            f"/api/v1/products/{made.json()['id']}/reviews",
            json={"rating": 5, "title": "Mine"},
            headers={"Authorization": f"Bearer {author_token}"},
        )
        assert review.status_code == 201, review.text
    product_id: str = made.json()["id"]
    return product_id


async def test_a_review_author_shows_email_and_roles_only_to_the_author_and_staff(
    cluster: Cluster,
) -> None:
    author_id, author = await account(cluster, "author@example.com")
    _, stranger = await account(cluster, "stranger@example.com")
    _, support = await account(cluster, "help@example.com", Role.SUPPORT)
    _, admin = await account(cluster, "root@example.com", Role.ADMIN)
    product_id = await reviewed_product(cluster, author, admin)
    public = {"id": author_id, "name": "author", "email": None, "roles": None}
    private = {**public, "email": "author@example.com", "roles": ["CUSTOMER"]}
    async with cluster.client("gateway") as gateway:
        for token, seen in (
            (None, public),
            (stranger, public),
            (author, private),
            (support, private),
        ):
            answer = await read_authors(gateway, product_id, token)
            assert answer == [{"author": seen}], token


async def read_authors(
    gateway: httpx.AsyncClient, product_id: str, token: str | None
) -> list[dict[str, object]]:
    response = await graphql(gateway, AUTHORS, {"id": product_id}, token=token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    reviews: list[dict[str, object]] = body["data"]["product"]["reviews"]
    return reviews
