"""Order documents and inputs: orders, their priced lines, checkout requests and saga state."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from estore.kit.identity import STAFF, Caller
from estore.kit.inputs import MaxItems
from estore.kit.money import Money


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class OrderItem(BaseModel):
    """One line as the product service priced it when stock was reserved."""

    product_id: str
    sku: str = ""
    name: str
    quantity: int
    unit_price: Money
    category_id: str | None = None

    @property
    def line_total(self) -> Money:
        return self.unit_price.times(self.quantity)


class Order(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    customer_id: str
    idempotency_key: str
    request_hash: str
    status: OrderStatus = OrderStatus.PENDING
    items: list[OrderItem] = []
    currency: str
    subtotal: Money
    discount: Money
    total: Money
    coupon_code: str | None = None
    payment_id: str | None = None
    reservation_id: str | None = None
    failure_reason: str | None = None
    cancel_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None

    def visible_to(self, caller: Caller) -> bool:
        return caller.user_id == self.customer_id or bool(caller.roles & STAFF)


class OrderLine(BaseModel):
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money


class OrderView(BaseModel):
    """An order as its customer (and staff) see it."""

    id: str
    customer_id: str
    status: OrderStatus
    items: list[OrderLine]
    currency: str
    subtotal: Money
    discount: Money
    total: Money
    coupon_code: str | None
    payment_id: str | None
    failure_reason: str | None
    cancel_reason: str | None
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, order: Order) -> OrderView:
        lines = [
            OrderLine(**item.model_dump(exclude={"category_id"}), line_total=item.line_total)
            for item in order.items
        ]
        return cls(**order.model_dump(exclude={"items"}), items=lines)


class OrderPage(BaseModel):
    items: list[OrderView]


# Documented in docs/limits.md and the GraphQL schema; a bigger cart is refused unread.
MAX_CART_LINES = 50


class LineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=1000)]


class CheckoutRequest(BaseModel):
    """What a customer sends: product ids and quantities, never prices."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    items: Annotated[list[LineRequest], Field(min_length=1), MaxItems(MAX_CART_LINES)]
    coupon_code: Annotated[str | None, Field(max_length=64)] = None
    card_number: Annotated[str, Field(pattern=r"^\d{12,19}$")]
    idempotency_key: Annotated[str, Field(min_length=8, max_length=128)]

    @field_validator("items")
    @classmethod
    def _one_line_per_product(cls, items: list[LineRequest]) -> list[LineRequest]:
        seen = [line.product_id for line in items]
        if len(seen) != len(set(seen)):
            raise ValueError("each product may appear once; add up the quantities instead")
        return items

    @field_validator("coupon_code")
    @classmethod
    def _blank_is_none(cls, code: str | None) -> str | None:
        return code or None

    def fingerprint(self) -> str:
        """What makes a retry 'the same order': the cart and the coupon, not the card."""
        cart = {
            "items": sorted((line.product_id, line.quantity) for line in self.items),
            "coupon": (self.coupon_code or "").upper(),
        }
        return hashlib.sha256(json.dumps(cart).encode()).hexdigest()


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=500)] = "cancelled by the customer"


class SagaKind(StrEnum):
    CHECKOUT = "checkout"
    CANCEL = "cancel"


class SagaStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"


FINAL_SAGA_STATUSES = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED})


class Saga(BaseModel):
    """A checkout or cancellation in flight: where it is and what undoes what it has done.

    `compensations` is a stack written before each step runs, so whoever resumes the saga
    knows what may have happened even if the step's answer was lost.
    """

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    kind: SagaKind
    order_id: str
    status: SagaStatus = SagaStatus.RUNNING
    step: int = 0
    compensations: list[str] = []
    undone: list[str] = []
    caller: dict[str, Any]
    lines: list[LineRequest] = []
    coupon_code: str | None = None
    currency: str
    reservation_id: str | None = None
    items: list[OrderItem] = []
    subtotal: int = 0
    discount: int = 0
    charge_id: str | None = None
    failure_reason: str | None = None
    cancel_reason: str | None = None
    owner: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def total(self) -> int:
        return max(0, self.subtotal - self.discount)

    @property
    def final(self) -> bool:
        return self.status in FINAL_SAGA_STATUSES

    def caller_identity(self) -> Caller:
        return Caller.model_validate(self.caller)
