"""Product subgraph: the Product entity, listings, reviews, and Category extended with products."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.types import Info

from estore.kit.errors import validated
from estore.kit.graphql import SubgraphContext, SubgraphSchema
from estore.kit.identity import Caller, Role
from estore.kit.inputs import check_count
from estore.kit.money import MoneyType
from estore.kit.views import graphql_of
from estore.services.product.listing import Page, ProductSort
from estore.services.product.listing import ProductFilter as FilterModel
from estore.services.product.models import (
    MAX_ATTRIBUTES,
    MAX_IMAGES,
    ProductInput,
    ProductUpdate,
    ReviewInput,
)
from estore.services.product.models import Product as ProductModel
from estore.services.product.models import Review as ReviewModel
from estore.services.product.service import ProductService

Ctx = Info[SubgraphContext, Any]
SortType = strawberry.enum(ProductSort, name="ProductSort")


def _service(info: Ctx) -> ProductService:
    service: ProductService = info.context.service
    return service


def _signed_in(info: Ctx) -> Caller:
    return info.context.signed_in()


def _admin(info: Ctx) -> Caller:
    return info.context.with_role(Role.ADMIN, "only admins may change the catalog")


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class User:
    """The auth subgraph's user; only its key is known here."""

    id: strawberry.ID


@strawberry.type
class Review:
    id: strawberry.ID
    rating: int
    title: str
    body: str
    created_at: datetime
    author: User

    @classmethod
    def of(cls, review: ReviewModel) -> Review:
        return graphql_of(cls, review, author=User(id=strawberry.ID(review.customer_id)))


@strawberry.type
class Attribute:
    name: str
    value: str


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    sku: str
    name: str
    description: str
    price: MoneyType
    stock: int
    available: int
    in_stock: bool
    images: list[str]
    attributes: list[Attribute]
    rating: float | None = strawberry.field(description="Average rating; null before a review")
    review_count: int
    sold: int
    created_at: datetime
    updated_at: datetime
    category_id: strawberry.ID | None

    @strawberry.field(description="Resolved by the category subgraph.")
    def category(self) -> Category | None:
        return Category(id=self.category_id) if self.category_id else None

    @strawberry.field(description="Newest first.")
    async def reviews(self, info: Ctx, first: int = 10) -> list[Review]:
        return [Review.of(r) for r in await _service(info).reviews(str(self.id), first)]

    @classmethod
    def of(cls, product: ProductModel) -> Product:
        return graphql_of(
            cls,
            product,
            price=MoneyType.of(product.price),
            in_stock=product.available > 0,
            attributes=[Attribute(name=k, value=v) for k, v in sorted(product.attributes.items())],
            category_id=product.category_id or None,
        )

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Product:
        return cls.of(await _service(info).product(str(id)))


@strawberry.federation.type(shareable=True)
class PageInfo:
    """Relay's page info; shareable so other subgraphs' connections may define it too."""

    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo
    _filter: strawberry.Private[FilterModel]

    @strawberry.field
    def nodes(self) -> list[Product]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many products match the filter, on every page.")
    async def total_count(self, info: Ctx) -> int:
        return await _service(info).count(self._filter)

    @classmethod
    def of(cls, page: Page, filter: FilterModel) -> ProductConnection:
        edges = [
            ProductEdge(cursor=cursor, node=Product.of(ProductModel.of(doc)))
            for doc, cursor in zip(page.items, page.cursors, strict=True)
        ]
        info = PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor)
        return cls(edges=edges, page_info=info, _filter=filter)


@strawberry.input
class ProductFilter:
    category_id: strawberry.ID | None = None
    text: str | None = None
    min_price: int | None = strawberry.field(default=None, description="Minor units")
    max_price: int | None = strawberry.field(default=None, description="Minor units")
    in_stock: bool | None = None


async def _connection(
    info: Ctx,
    filter: ProductFilter | None,
    sort: ProductSort,
    first: int,
    after: str | None,
    **pinned: Any,
) -> ProductConnection:
    """A page for the filter, with `pinned` fields (the category being browsed) overriding it."""
    fields = {**(strawberry.asdict(filter) if filter else {}), **pinned}
    model = validated(FilterModel, fields)
    page = await _service(info).page(model, sort, first, after)
    return ProductConnection.of(page, model)


@strawberry.federation.type(keys=["id"])
class Category:
    """The category subgraph's entity, extended here with the products filed under it."""

    id: strawberry.ID

    @strawberry.field(description="Products in this category and its subcategories.")
    async def products(
        self,
        info: Ctx,
        filter: ProductFilter | None = None,
        sort: SortType = ProductSort.NEWEST,  # type: ignore[valid-type]
        first: int = 20,
        after: str | None = None,
    ) -> ProductConnection:
        return await _connection(info, filter, sort, first, after, category_id=str(self.id))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Category:
        return cls(id=id)


@strawberry.input
class MoneyInput:
    amount: int = strawberry.field(description="Minor units (cents)")
    currency: str = "EUR"


IMAGES = f"Image URLs, at most {MAX_IMAGES}."
ATTRIBUTES = f"At most {MAX_ATTRIBUTES}, each name once."


@strawberry.input
class AttributeInput:
    name: str
    value: str


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    price: MoneyInput
    description: str = ""
    stock: int = 0
    category_id: strawberry.ID | None = None
    images: list[str] = strawberry.field(default_factory=list, description=IMAGES)
    attributes: list[AttributeInput] = strawberry.field(
        default_factory=list, description=ATTRIBUTES
    )


@strawberry.input
class UpdateProductInput:
    name: str | None = None
    description: str | None = None
    price: MoneyInput | None = None
    category_id: strawberry.ID | None = None
    images: list[str] | None = strawberry.field(default=None, description=IMAGES)
    attributes: list[AttributeInput] | None = strawberry.field(default=None, description=ATTRIBUTES)


@strawberry.input
class AddReviewInput:
    rating: int
    title: str
    body: str = ""


def _product_fields(input: CreateProductInput | UpdateProductInput) -> dict[str, Any]:
    """GraphQL's attribute list as the models' mapping; unset optional fields left out.

    Counted before the list becomes a mapping, where repeated names would fold together.
    """
    check_count("images", input.images or (), MAX_IMAGES)
    check_count("attributes", input.attributes or (), MAX_ATTRIBUTES)
    data: dict[str, Any] = strawberry.asdict(input)
    fields = {k: v for k, v in data.items() if v is not None}
    if "attributes" in fields:
        fields["attributes"] = {a["name"]: a["value"] for a in fields["attributes"]}
    return fields


@strawberry.type
class Query:
    @strawberry.field(description="A page of products; `after` takes a cursor from a page.")
    async def products(
        self,
        info: Ctx,
        filter: ProductFilter | None = None,
        sort: SortType = ProductSort.NEWEST,  # type: ignore[valid-type]
        first: int = 20,
        after: str | None = None,
    ) -> ProductConnection:
        return await _connection(info, filter, sort, first, after)

    @strawberry.field(description="One product, or null when there is no such product.")
    async def product(self, info: Ctx, id: strawberry.ID) -> Product | None:
        found = await _service(info).products([str(id)])
        return Product.of(found[0]) if found else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_product(self, info: Ctx, input: CreateProductInput) -> Product:
        _admin(info)
        form = validated(ProductInput, _product_fields(input))
        return Product.of(await _service(info).create(form))

    @strawberry.mutation
    async def update_product(
        self, info: Ctx, id: strawberry.ID, input: UpdateProductInput
    ) -> Product:
        _admin(info)
        patch = validated(ProductUpdate, _product_fields(input))
        return Product.of(await _service(info).update(str(id), patch))

    @strawberry.mutation(description="Add units to stock; the change is recorded.")
    async def restock_product(self, info: Ctx, id: strawberry.ID, quantity: int) -> Product:
        caller = _admin(info)
        return Product.of(await _service(info).restock(str(id), quantity, caller))

    @strawberry.mutation(description="One review per customer and product; rating 1 to 5.")
    async def add_review(
        self, info: Ctx, product_id: strawberry.ID, input: AddReviewInput
    ) -> Review:
        caller = _signed_in(info)
        form = validated(ReviewInput, strawberry.asdict(input))
        return Review.of(await _service(info).add_review(str(product_id), form, caller))


def build_schema() -> SubgraphSchema:
    return SubgraphSchema(query=Query, mutation=Mutation, types=[Product, Category, User])
