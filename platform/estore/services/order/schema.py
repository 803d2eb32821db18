"""Order subgraph: the Order entity, `orders`/`order`, checkout and cancel, and `User.orders`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.federation.schema_directives import FieldSet, Key
from strawberry.types import Info

from estore.kit.errors import validated
from estore.kit.graphql import SubgraphContext, SubgraphSchema
from estore.kit.identity import Caller
from estore.kit.inputs import check_count
from estore.kit.money import MoneyType
from estore.kit.views import graphql_of
from estore.services.order.models import (
    MAX_CART_LINES,
    CheckoutRequest,
    Order,
    OrderItem,
    OrderStatus,
)
from estore.services.order.service import OrderService

OrderStatusType = strawberry.enum(OrderStatus, name="OrderStatus")


def _service(info: Info[SubgraphContext, Any]) -> OrderService:
    service: OrderService = info.context.service
    return service


def _caller(info: Info[SubgraphContext, Any]) -> Caller:
    return info.context.signed_in("sign in to see and place orders")


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Product:
    """The catalog's product; the product subgraph resolves its fields."""

    id: strawberry.ID


@strawberry.type(name="OrderItem")
class OrderItemType:
    product_id: strawberry.ID
    sku: str
    name: str
    quantity: int
    unit_price: MoneyType
    line_total: MoneyType

    @strawberry.field
    def product(self) -> Product:
        return Product(id=self.product_id)

    @classmethod
    def of(cls, item: OrderItem) -> OrderItemType:
        return graphql_of(
            cls,
            item,
            unit_price=MoneyType.of(item.unit_price),
            line_total=MoneyType.of(item.line_total),
        )


@strawberry.federation.type(name="Order", keys=["id"])
class OrderType:
    id: strawberry.ID
    customer_id: strawberry.ID
    status: OrderStatusType  # type: ignore[valid-type]
    items: list[OrderItemType]
    subtotal: MoneyType
    discount: MoneyType
    total: MoneyType
    coupon_code: str | None
    payment_id: str | None
    failure_reason: str | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, order: Order) -> OrderType:
        return graphql_of(
            cls,
            order,
            items=[OrderItemType.of(i) for i in order.items],
            subtotal=MoneyType.of(order.subtotal),
            discount=MoneyType.of(order.discount),
            total=MoneyType.of(order.total),
        )

    @classmethod
    async def resolve_reference(
        cls, info: Info[SubgraphContext, Any], id: strawberry.ID
    ) -> OrderType:
        return cls.of(await _service(info).order(_caller(info), str(id)))


@strawberry.federation.type(keys=["id"])
class User:
    """The auth subgraph's account, extended with its orders."""

    id: strawberry.ID

    @strawberry.field(description="Visible to the account itself, support and admins.")
    async def orders(self, info: Info[SubgraphContext, Any]) -> list[OrderType]:
        found = await _service(info).orders_of(info.context.caller, str(self.id))
        return [OrderType.of(o) for o in found]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        return cls(id=id)


@strawberry.input
class OrderLineInput:
    product_id: strawberry.ID
    quantity: int


@strawberry.input
class CreateOrderInput:
    items: list[OrderLineInput] = strawberry.field(
        description=f"One line per product, at most {MAX_CART_LINES} lines."
    )
    card_number: str
    idempotency_key: str
    coupon_code: str | None = None


@strawberry.type
class Query:
    @strawberry.field(description="Your orders, newest first; support and admins see all.")
    async def orders(
        self, info: Info[SubgraphContext, Any], limit: int = 20, offset: int = 0
    ) -> list[OrderType]:
        found = await _service(info).orders(_caller(info), limit, offset)
        return [OrderType.of(o) for o in found]

    @strawberry.field(description="One order: its customer, support or admins only.")
    async def order(self, info: Info[SubgraphContext, Any], id: strawberry.ID) -> OrderType:
        return OrderType.of(await _service(info).order(_caller(info), str(id)))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Check out; a FAILED order says why in failureReason.")
    async def create_order(
        self, info: Info[SubgraphContext, Any], input: CreateOrderInput
    ) -> OrderType:
        check_count("items", input.items, MAX_CART_LINES)
        request = validated(CheckoutRequest, strawberry.asdict(input))
        order, _ = await _service(info).create_order(_caller(info), request)
        return OrderType.of(order)

    @strawberry.mutation
    async def cancel_order(
        self, info: Info[SubgraphContext, Any], id: strawberry.ID, reason: str | None = None
    ) -> OrderType:
        return OrderType.of(await _service(info).cancel(_caller(info), str(id), reason))


def build_schema() -> SubgraphSchema:
    return SubgraphSchema(query=Query, mutation=Mutation, types=[OrderType, User, Product])
