"""Coupon documents and inputs: coupons, redemptions, carts, quotes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from estore.kit.inputs import MaxItems
from estore.kit.money import Currency, Money

CODE_PATTERN = r"^[A-Za-z0-9_-]{3,40}$"
# Customer ids key the per-customer counters inside a coupon, so no dots or dollars.
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,100}$")]
OrderId = Annotated[str, Field(min_length=1, max_length=200)]


def normalise_code(code: str) -> str:
    """Codes are unique case-insensitively: this is the stored and indexed form."""
    return code.strip().upper()


# Documented in docs/limits.md and the GraphQL schema; more is refused unread.
MAX_QUOTE_ITEMS = 500
MAX_ELIGIBLE_CATEGORIES = 100


class DiscountKind(StrEnum):
    PERCENT = "PERCENT"
    FIXED = "FIXED"


class Coupon(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    code: str
    kind: DiscountKind
    percent: int | None = None
    amount: int | None = None
    currency: str
    min_subtotal: int = 0
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_redemptions: int | None = None
    max_per_customer: int | None = None
    eligible_categories: list[str] = []
    active: bool = True
    customer_id: str | None = None
    description: str | None = None
    redeemed: int = 0
    per_customer: dict[str, int] = {}
    created_at: datetime
    updated_at: datetime


class CouponInput(BaseModel):
    """What an admin sends to create a coupon."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[str, Field(pattern=CODE_PATTERN)]
    kind: DiscountKind
    percent: Annotated[int | None, Field(ge=1, le=100)] = None
    amount: Annotated[int | None, Field(gt=0, description="Minor units, for FIXED")] = None
    currency: Currency = "EUR"
    min_subtotal: Annotated[int, Field(ge=0)] = 0
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    max_redemptions: Annotated[int | None, Field(ge=1)] = None
    max_per_customer: Annotated[int | None, Field(ge=1)] = None
    eligible_categories: Annotated[
        list[Annotated[str, Field(min_length=1)]], MaxItems(MAX_ELIGIBLE_CATEGORIES)
    ] = []
    customer_id: CustomerId | None = None
    description: Annotated[str | None, Field(max_length=500)] = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind is DiscountKind.PERCENT and (self.percent is None or self.amount is not None):
            raise ValueError("a PERCENT coupon needs percent (1-100) and no amount")
        if self.kind is DiscountKind.FIXED and (self.amount is None or self.percent is not None):
            raise ValueError("a FIXED coupon needs amount (minor units) and no percent")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class CouponView(BaseModel):
    """A coupon as clients see it (without the per-customer counters)."""

    id: str
    code: str
    kind: DiscountKind
    percent: int | None
    amount: Money | None
    min_subtotal: Money
    valid_from: datetime | None
    valid_until: datetime | None
    max_redemptions: int | None
    max_per_customer: int | None
    eligible_categories: list[str]
    active: bool
    customer_id: str | None
    description: str | None
    redeemed: int
    created_at: datetime

    @classmethod
    def of(cls, coupon: Coupon) -> CouponView:
        fixed = Money(amount=coupon.amount, currency=coupon.currency) if coupon.amount else None
        return cls(
            **coupon.model_dump(exclude={"amount", "min_subtotal", "per_customer", "currency"}),
            amount=fixed,
            min_subtotal=Money(amount=coupon.min_subtotal, currency=coupon.currency),
        )


class CartItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, Field(min_length=1, max_length=100)]
    category_id: Annotated[str | None, Field(max_length=100)] = None
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    unit_price: Money


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[str, Field(min_length=1, max_length=64)]
    customer_id: CustomerId
    currency: Currency
    items: Annotated[list[CartItem], Field(min_length=1), MaxItems(MAX_QUOTE_ITEMS)]

    @field_validator("items")
    @classmethod
    def _one_currency(cls, items: list[CartItem]) -> list[CartItem]:
        if len({item.unit_price.currency for item in items}) > 1:
            raise ValueError("all items must be priced in one currency")
        return items

    @model_validator(mode="after")
    def _cart_currency(self) -> Self:
        if self.items[0].unit_price.currency != self.currency:
            raise ValueError(f"items are priced in another currency than {self.currency}")
        return self


class RedeemRequest(QuoteRequest):
    order_id: OrderId


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: OrderId


class Quote(BaseModel):
    code: str
    valid: bool
    discount: Money
    reason: str | None = None


class RedemptionStatus(StrEnum):
    PENDING = "PENDING"
    REDEEMED = "REDEEMED"
    RELEASED = "RELEASED"


class Redemption(BaseModel):
    """One order's use of a coupon; a release without a redemption leaves a tombstone.

    The tombstone (no coupon) stops a late redeem of a released order from counting.
    """

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    order_id: str
    customer_id: str
    status: RedemptionStatus
    coupon_id: str | None = None
    code: str | None = None
    discount: Money | None = None
    created_at: datetime
    released_at: datetime | None = None
    # A release by support, an admin or a service (the order saga compensating) binds the
    # order; only another customer's stray release does not.
    released_by_staff: bool = False


class RedemptionView(BaseModel):
    redemption_id: str
    code: str
    order_id: str
    discount: Money

    @classmethod
    def of(cls, redemption: Redemption) -> RedemptionView:
        assert redemption.code is not None and redemption.discount is not None
        return cls(
            redemption_id=redemption.id,
            code=redemption.code,
            order_id=redemption.order_id,
            discount=redemption.discount,
        )


class ReleaseResult(BaseModel):
    order_id: str
    released: bool
