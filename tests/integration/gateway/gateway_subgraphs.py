"""Four small strawberry federation subgraphs and a recording fetcher that runs them in-process.

users owns User; products owns Product (keys `upc` and compound `sku variant`), a value type
Bundle, an interface and a union; reviews extends User and Product and @provides the author's
username; inventory keys Product by `sku variant` and @requires price and weight.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

fed = strawberry.federation


@dataclass
class Store:
    """Per-test data, passed to resolvers as the context so tests never share state."""

    users: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "u1": {"username": "ada", "email": "ada@example.test"},
            "u2": {"username": "grace", "email": "grace@example.test"},
        }
    )
    products: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "upc": "p1",
                "sku": "TBL",
                "variant": "oak",
                "name": "Table",
                "price": 1200,
                "weight": 30,
            },
            {
                "upc": "p2",
                "sku": "CHR",
                "variant": "oak",
                "name": "Chair",
                "price": 300,
                "weight": 5,
            },
            {
                "upc": "p3",
                "sku": "CHR",
                "variant": "pine",
                "name": "Stool",
                "price": 150,
                "weight": 4,
            },
        ]
    )
    stock: dict[tuple[str, str], int] = field(
        default_factory=lambda: {("TBL", "oak"): 2, ("CHR", "oak"): 0, ("CHR", "pine"): 9}
    )
    reviews: list[dict[str, str]] = field(
        default_factory=lambda: [
            {"id": "r1", "body": "Sturdy", "author": "u1", "product": "p1"},
            {"id": "r2", "body": "Wobbly", "author": "u2", "product": "p2"},
            {"id": "r3", "body": "Fine", "author": "u1", "product": "p2"},
            {"id": "r4", "body": "Lovely", "author": "u2", "product": "p1"},
        ]
    )
    fail_inventory_for: set[str] = field(default_factory=set)


def _store(info: Info) -> Store:
    return info.context["store"]


# --- users ---------------------------------------------------------------------------------


@fed.type(name="User", keys=["id"])
class UsersUser:
    id: strawberry.ID
    username: str = fed.field(shareable=True)
    email: str | None

    @classmethod
    def resolve_reference(cls, info: Info, **rep: Any) -> UsersUser:
        return _user(_store(info), rep["id"])


def _user(store: Store, user_id: str) -> UsersUser:
    return UsersUser(id=strawberry.ID(user_id), **store.users[user_id])


@strawberry.type(name="Query")
class UsersQuery:
    @strawberry.field
    def me(self, info: Info) -> UsersUser | None:
        return _user(_store(info), "u1")

    @strawberry.field
    def users(self, info: Info) -> list[UsersUser]:
        return [_user(_store(info), uid) for uid in _store(info).users]


# --- products ------------------------------------------------------------------------------


@strawberry.interface
class Priced:
    price: int


@fed.type(name="Product", keys=["upc", "sku variant"])
class ProductsProduct(Priced):
    upc: str
    sku: str
    variant: str
    name: str = fed.field(shareable=True)
    weight: int

    @classmethod
    def resolve_reference(cls, info: Info, **rep: Any) -> ProductsProduct | None:
        for row in _store(info).products:
            if rep.get("upc") == row["upc"] or (rep.get("sku"), rep.get("variant")) == (
                row["sku"],
                row["variant"],
            ):
                return ProductsProduct(**row)
        return None


@strawberry.type
class Bundle(Priced):
    title: str


SearchResult = Annotated[ProductsProduct | Bundle, strawberry.union("SearchResult")]


@strawberry.type(name="Query")
class ProductsQuery:
    @strawberry.field
    def top_products(self, info: Info, first: int = 5) -> list[ProductsProduct | None]:
        return [ProductsProduct(**row) for row in _store(info).products[:first]]

    @strawberry.field
    def product(self, info: Info, upc: str) -> ProductsProduct | None:
        return ProductsProduct.resolve_reference(info, upc=upc)

    @strawberry.field
    def search(self, info: Info, term: str) -> list[SearchResult]:
        found: list[Any] = [
            ProductsProduct(**r) for r in _store(info).products if term in r["name"]
        ]
        return [*found, Bundle(title=f"{term} set", price=999)]

    @strawberry.field
    def priced(self, info: Info) -> list[Priced]:
        return [ProductsProduct(**_store(info).products[1]), Bundle(title="Duo", price=500)]


@strawberry.type(name="Mutation")
class ProductsMutation:
    @strawberry.mutation
    def set_price(self, info: Info, upc: str, price: int) -> ProductsProduct | None:
        for row in _store(info).products:
            if row["upc"] == upc:
                row["price"] = price
        return ProductsProduct.resolve_reference(info, upc=upc)


# --- reviews -------------------------------------------------------------------------------


@fed.type(name="User", keys=["id"])
class ReviewsUser:
    id: strawberry.ID
    username: str = fed.field(external=True)

    @strawberry.field
    def reviews(self, info: Info) -> list[Review]:
        return [_review(r) for r in _store(info).reviews if r["author"] == self.id]

    @classmethod
    def resolve_reference(cls, info: Info, **rep: Any) -> ReviewsUser:
        # The reviews service keeps a copy of usernames: that is what it @provides.
        return ReviewsUser(id=rep["id"], username=_store(info).users[rep["id"]]["username"])


@fed.type(name="Product", keys=["upc"])
class ReviewsProduct:
    upc: str
    name: str = fed.field(shareable=True)

    @strawberry.field
    def reviews(self, info: Info) -> list[Review]:
        return [_review(r) for r in _store(info).reviews if r["product"] == self.upc]

    @classmethod
    def resolve_reference(cls, info: Info, **rep: Any) -> ReviewsProduct:
        return _product_stub(_store(info), rep["upc"])


def _product_stub(store: Store, upc: str) -> ReviewsProduct:
    name = next(p["name"] for p in store.products if p["upc"] == upc)
    return ReviewsProduct(upc=upc, name=name)


@fed.type(keys=["id"])
class Review:
    id: strawberry.ID
    body: str
    author_id: strawberry.Private[str]
    product_upc: strawberry.Private[str]

    @fed.field(provides=["username"])
    def author(self, info: Info) -> ReviewsUser:
        return ReviewsUser.resolve_reference(info, id=self.author_id)

    @strawberry.field
    def product(self, info: Info) -> ReviewsProduct:
        return _product_stub(_store(info), self.product_upc)


def _review(row: Mapping[str, str]) -> Review:
    return Review(
        id=strawberry.ID(row["id"]),
        body=row["body"],
        author_id=row["author"],
        product_upc=row["product"],
    )


@strawberry.type(name="Query")
class ReviewsQuery:
    @strawberry.field
    def reviews(self, info: Info) -> list[Review]:
        return [_review(r) for r in _store(info).reviews]


# --- inventory -----------------------------------------------------------------------------


@fed.type(name="Product", keys=["sku variant"])
class InventoryProduct:
    sku: str
    variant: str
    price: int = fed.field(external=True)
    weight: int = fed.field(external=True)

    @strawberry.field
    def in_stock(self, info: Info) -> bool | None:
        return _store(info).stock[(self.sku, self.variant)] > 0

    @fed.field(requires=["price weight"])
    def shipping_estimate(self, info: Info) -> int:
        if self.sku in _store(info).fail_inventory_for:
            raise ValueError(f"no estimate for {self.sku}")
        # Free shipping over 1000; otherwise 2 per unit of weight.
        return 0 if self.price > 1000 else self.weight * 2

    @classmethod
    def resolve_reference(cls, **rep: Any) -> InventoryProduct:
        return InventoryProduct(
            sku=rep["sku"],
            variant=rep["variant"],
            price=rep.get("price", -1),
            weight=rep.get("weight", -1),
        )


@strawberry.type(name="Query")
class InventoryQuery:
    @strawberry.field
    def warehouse_count(self) -> int:
        return 1


def build_schemas() -> dict[str, strawberry.federation.Schema]:
    """The four subgraph schemas, built on demand."""
    return {
        "users": fed.Schema(query=UsersQuery),
        "products": fed.Schema(query=ProductsQuery, mutation=ProductsMutation, types=[Bundle]),
        "reviews": fed.Schema(query=ReviewsQuery),
        "inventory": fed.Schema(query=InventoryQuery, types=[InventoryProduct]),
    }


@dataclass
class Call:
    subgraph: str
    query: str
    variables: dict[str, Any]
    headers: dict[str, str]


class RecordingFetcher:
    """A SubgraphFetcher that executes the strawberry schemas directly and records each call."""

    def __init__(self, schemas: Mapping[str, strawberry.federation.Schema], store: Store) -> None:
        self.schemas = schemas
        self.store = store
        self.calls: list[Call] = []
        self.down: set[str] = set()

    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        # A JSON round trip, as over HTTP: strawberry mutates the representations it receives.
        variables = json.loads(json.dumps(variables))
        self.calls.append(Call(subgraph, query, json.loads(json.dumps(variables)), dict(headers)))
        if subgraph in self.down:
            raise ConnectionError(f"{subgraph} refused the connection")
        result = await self.schemas[subgraph].execute(
            query, variable_values=variables, context_value={"store": self.store}
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [error.formatted for error in result.errors]
        return response

    def calls_to(self, subgraph: str) -> list[Call]:
        return [c for c in self.calls if c.subgraph == subgraph]

    def sdls(self) -> dict[str, str]:
        return {name: schema.as_str() for name, schema in self.schemas.items()}
