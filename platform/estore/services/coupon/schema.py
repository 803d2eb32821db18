"""Coupon subgraph: the Coupon type, previewCoupon for a cart, myCoupons, admin mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from estore.kit.errors import BadRequest, validated
from estore.kit.graphql import SubgraphContext, SubgraphSchema
from estore.kit.identity import Caller, Role
from estore.kit.inputs import check_count
from estore.kit.money import MoneyType
from estore.kit.views import graphql_of
from estore.services.coupon.models import (
    MAX_ELIGIBLE_CATEGORIES,
    MAX_QUOTE_ITEMS,
    CartItem,
    CouponInput,
    CouponView,
    DiscountKind,
    Quote,
)
from estore.services.coupon.service import CouponService

DiscountKindType = strawberry.enum(DiscountKind, name="DiscountKind")


def _service(info: Info[SubgraphContext, Any]) -> CouponService:
    service: CouponService = info.context.service
    return service


def _caller(info: Info[SubgraphContext, Any]) -> Caller:
    return info.context.signed_in("sign in to see your coupons")


def _admin(info: Info[SubgraphContext, Any]) -> Caller:
    return info.context.with_role(Role.ADMIN, "only admins manage coupons")


@strawberry.type
class Coupon:
    id: strawberry.ID
    code: str
    kind: DiscountKindType  # type: ignore[valid-type]
    percent_off: int | None
    amount_off: MoneyType | None
    minimum_subtotal: MoneyType
    valid_from: datetime | None
    valid_until: datetime | None
    max_redemptions: int | None
    max_per_customer: int | None
    redeemed: int
    eligible_category_ids: list[strawberry.ID]
    active: bool
    personal: bool
    description: str | None

    @classmethod
    def of(cls, view: CouponView) -> Coupon:
        return graphql_of(
            cls,
            view,
            percent_off=view.percent,
            amount_off=MoneyType.of(view.amount) if view.amount else None,
            minimum_subtotal=MoneyType.of(view.min_subtotal),
            eligible_category_ids=[strawberry.ID(c) for c in view.eligible_categories],
            personal=view.customer_id is not None,
        )


@strawberry.type
class CouponQuote:
    code: str
    valid: bool
    discount: MoneyType
    reason: str | None

    @classmethod
    def of(cls, quote: Quote) -> CouponQuote:
        return graphql_of(cls, quote, discount=MoneyType.of(quote.discount))


@strawberry.input
class MoneyInput:
    amount: int
    currency: str = "EUR"


@strawberry.input
class CartItemInput:
    product_id: strawberry.ID
    category_id: strawberry.ID | None = None
    quantity: int
    unit_price: MoneyInput


@strawberry.input
class CreateCouponInput:
    code: str
    kind: DiscountKindType  # type: ignore[valid-type]
    percent: int | None = None
    amount: int | None = None
    currency: str = "EUR"
    min_subtotal: int = 0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_redemptions: int | None = None
    max_per_customer: int | None = None
    eligible_category_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description=f"At most {MAX_ELIGIBLE_CATEGORIES} categories."
    )
    customer_id: strawberry.ID | None = None
    description: str | None = None


def _cart(items: list[CartItemInput]) -> list[CartItem]:
    if not items:
        raise BadRequest("invalid input: items: the cart is empty")
    check_count("items", items, MAX_QUOTE_ITEMS)
    return [validated(CartItem, strawberry.asdict(item)) for item in items]


@strawberry.type
class Query:
    @strawberry.field(
        description="What a code would take off this cart, or why it does not apply "
        f"(at most {MAX_QUOTE_ITEMS} items)."
    )
    async def preview_coupon(
        self, info: Info[SubgraphContext, Any], code: str, items: list[CartItemInput]
    ) -> CouponQuote:
        cart = _cart(items)
        currencies = {item.unit_price.currency for item in cart}
        if len(currencies) > 1:
            raise BadRequest("invalid input: items: all items must be priced in one currency")
        caller = info.context.caller
        customer = caller.user_id if caller else None
        quote = await _service(info).preview(code, cart, currencies.pop(), customer)
        return CouponQuote.of(quote)

    @strawberry.field(description="Your personal coupons and the public ones usable now.")
    async def my_coupons(self, info: Info[SubgraphContext, Any]) -> list[Coupon]:
        return [Coupon.of(c) for c in await _service(info).my_coupons(_caller(info))]

    @strawberry.field(description="Admins: every coupon, or only active or inactive ones.")
    async def coupons(
        self, info: Info[SubgraphContext, Any], active: bool | None = None
    ) -> list[Coupon]:
        _admin(info)
        return [Coupon.of(c) for c in await _service(info).coupons(active)]


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_coupon(
        self, info: Info[SubgraphContext, Any], input: CreateCouponInput
    ) -> Coupon:
        _admin(info)
        check_count("eligibleCategoryIds", input.eligible_category_ids, MAX_ELIGIBLE_CATEGORIES)
        fields = strawberry.asdict(input)
        fields["eligible_categories"] = fields.pop("eligible_category_ids")
        form = validated(CouponInput, {k: v for k, v in fields.items() if v is not None})
        return Coupon.of(await _service(info).create(form))

    @strawberry.mutation
    async def deactivate_coupon(self, info: Info[SubgraphContext, Any], code: str) -> Coupon:
        _admin(info)
        return Coupon.of(await _service(info).deactivate(code))


def build_schema() -> SubgraphSchema:
    return SubgraphSchema(query=Query, mutation=Mutation, types=[Coupon])
