"""A shop front's gateway client: runs its operations and hands pages what they render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from contracts.storefront import operations


class GraphQLFailed(Exception):
    """The gateway answered with errors instead of data; `codes` are their extensions.code."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.codes = [str(e.get("extensions", {}).get("code", "")) for e in errors]
        super().__init__("; ".join(str(e.get("message")) for e in errors))


@dataclass(frozen=True)
class Card:
    """A product tile: what a catalog grid shows."""

    id: str
    name: str
    price: str
    in_stock: bool


@dataclass(frozen=True)
class CatalogPage:
    title: str
    breadcrumbs: list[str]
    cards: list[Card]
    total: int
    next_cursor: str | None


@dataclass(frozen=True)
class ProductPage:
    name: str
    description: str
    price: str
    can_add_to_cart: bool
    breadcrumbs: list[str]
    review_lines: list[str]


@dataclass(frozen=True)
class Session:
    access_token: str
    user_name: str


@dataclass(frozen=True)
class PlacedOrder:
    id: str
    status: str
    total: str


class Storefront:
    """The shop front's calls to the gateway; `token` set once a customer signed in."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self._http = http
        self.token = token

    async def run(self, name: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"operationName": name, "query": query, "variables": variables}
        response = await self._http.post("/graphql", json=body, headers=headers)
        payload: dict[str, Any] = response.json()
        if payload.get("errors"):
            raise GraphQLFailed(payload["errors"])
        data: dict[str, Any] = payload["data"]
        return data

    async def catalog(self, slug: str, first: int = 12, after: str | None = None) -> CatalogPage:
        variables = {"slug": slug, "first": first, "after": after, "filter": {"inStock": True}}
        category = (await self.run("CatalogPage", operations.CATALOG_PAGE, variables))["category"]
        found = category["products"]
        return CatalogPage(
            title=category["name"],
            breadcrumbs=[c["name"] for c in category["breadcrumbs"]],
            cards=[_card(node) for node in found["nodes"]],
            total=found["totalCount"],
            next_cursor=found["pageInfo"]["endCursor"]
            if found["pageInfo"]["hasNextPage"]
            else None,
        )

    async def product(self, product_id: str) -> ProductPage | None:
        variables = {"id": product_id, "reviews": 5}
        product = (await self.run("ProductPage", operations.PRODUCT_PAGE, variables))["product"]
        if product is None:
            return None
        category = product["category"]
        return ProductPage(
            name=product["name"],
            description=product["description"],
            price=product["price"]["formatted"],
            can_add_to_cart=product["available"] > 0,
            breadcrumbs=[c["name"] for c in category["breadcrumbs"]] if category else [],
            review_lines=[
                f"{r['rating']}/5 {r['title']} by {r['author']['name']}" for r in product["reviews"]
            ],
        )

    async def login(self, email: str, password: str) -> Session:
        variables = {"email": email, "password": password}
        signed = (await self.run("Login", operations.LOGIN, variables))["login"]
        self.token = signed["accessToken"]
        return Session(access_token=signed["accessToken"], user_name=signed["user"]["name"])

    async def checkout(
        self, lines: dict[str, int], card_number: str, idempotency_key: str
    ) -> PlacedOrder:
        order_input = {
            "items": [{"productId": p, "quantity": q} for p, q in lines.items()],
            "cardNumber": card_number,
            "idempotencyKey": idempotency_key,
        }
        made = await self.run("Checkout", operations.CHECKOUT, {"input": order_input})
        return _placed(made["createOrder"])

    async def my_orders(self, limit: int = 10, offset: int = 0) -> list[PlacedOrder]:
        variables = {"limit": limit, "offset": offset}
        found = await self.run("MyOrders", operations.MY_ORDERS, variables)
        return [_placed(order) for order in found["orders"]]


def _card(node: dict[str, Any]) -> Card:
    return Card(node["id"], node["name"], node["price"]["formatted"], node["inStock"])


def _placed(order: dict[str, Any]) -> PlacedOrder:
    return PlacedOrder(order["id"], order["status"], order["total"]["formatted"])
