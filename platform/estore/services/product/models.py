"""Product documents and inputs: products, stock changes, reviews and reservations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from estore.kit.inputs import MaxItems
from estore.kit.money import Money
from estore.kit.views import View

Id = Annotated[str, Field(min_length=1, max_length=64)]
Quantity = Annotated[int, Field(ge=1, le=100_000)]
Sku = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$", examples=["ELE-PHN-0001"])]
MAX_STOCK = 10_000_000
# Documented in docs/limits.md and the GraphQL schema; more is refused unread.
MAX_IMAGES = 20
MAX_ATTRIBUTES = 50
MAX_RESERVATION_LINES = 100
MAX_PRODUCT_IDS = 100  # of one `GET /products?ids=...` read


# A hold longer than a day is a mistake, not a checkout; settings may only lower it.
MAX_RESERVATION_TTL_SECONDS = 24 * 3600


class ProductDoc(BaseModel):
    """The stored product. `available` is kept equal to stock - reserved by every update, so a
    reservation can test and take it in one conditional write; `holds` maps a reservation id
    to the quantity it holds here, which makes every hold and its undo happen at most once."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    sku: str
    name: str
    description: str = ""
    price: Money
    stock: int
    reserved: int = 0
    available: int
    category_id: str | None = None
    images: list[str] = []
    attributes: dict[str, str] = {}
    rating_total: int = 0
    review_count: int = 0
    # Stored (not derived) so listings can sort by it; 0 while there are no reviews.
    rating_avg: float = 0.0
    sold: int = 0
    holds: dict[str, int] = {}
    restocks: dict[str, int] = {}
    created_at: datetime
    updated_at: datetime

    @property
    def rating(self) -> float | None:
        """The average shown to people: none before the first review."""
        return round(self.rating_avg, 2) if self.review_count else None


class Product(View):
    """A product as other services and clients read it."""

    id: str
    sku: str
    name: str
    description: str
    price: Money
    stock: int
    reserved: int
    available: int
    category_id: str | None
    images: list[str]
    attributes: dict[str, str]
    rating: float | None
    review_count: int
    sold: int
    created_at: datetime
    updated_at: datetime


class ProductList(BaseModel):
    items: list[Product]
    # Set on a filtered page that has more after it; pass it back as `after`.
    next_cursor: str | None = None


class ProductCount(BaseModel):
    category_id: str
    count: int


Images = Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]], MaxItems(MAX_IMAGES)]
Attributes = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=50)], Annotated[str, Field(max_length=200)]],
    MaxItems(MAX_ATTRIBUTES),
]


class ProductInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=5000)] = ""
    price: Money
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)] = 0
    category_id: Id | None = None
    images: Images = []
    attributes: Attributes = {}

    @field_validator("sku", mode="before")
    @classmethod
    def _upper_sku(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class ProductUpdate(BaseModel):
    """What an admin may change in place; stock moves only through stock changes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=5000)] | None = None
    price: Money | None = None
    category_id: Id | None = None
    images: Images | None = None
    attributes: Attributes | None = None

    def changes(self) -> dict[str, object]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class StockChange(BaseModel):
    """A restock (`delta` > 0), a write-off (`delta` < 0) or a count (`stock`), with a reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    delta: Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK)] | None = None
    stock: Annotated[int, Field(ge=0, le=MAX_STOCK)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.delta is None) == (self.stock is None):
            raise ValueError("give exactly one of delta (a change) or stock (a new count)")
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class StockRecord(BaseModel):
    """One recorded stock change: who moved how much, and why."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    product_id: str
    delta: int
    stock_after: int
    reason: str
    by: str
    at: datetime


class ReviewInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rating: Annotated[int, Field(ge=1, le=5)]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    body: Annotated[str, Field(max_length=4000)] = ""


class SoldLine(TypedDict):
    """One line of a counted sale, as kept with it so a cancellation takes back the same."""

    product_id: str
    quantity: int


class Review(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    product_id: str
    customer_id: str
    rating: int
    title: str
    body: str
    created_at: datetime


class ReviewList(BaseModel):
    items: list[Review]


class ReservationStatus(StrEnum):
    # PENDING only while the lines are being held; nobody is answered with it.
    PENDING = "PENDING"
    HELD = "HELD"
    CONFIRMED = "CONFIRMED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"
    RESTOCKED = "RESTOCKED"


class ReservationLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    quantity: Quantity


class ReservationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reservation_key: Annotated[str, Field(min_length=1, max_length=128)]
    items: Annotated[list[ReservationLine], Field(min_length=1), MaxItems(MAX_RESERVATION_LINES)]
    ttl_seconds: Annotated[int, Field(ge=1, le=MAX_RESERVATION_TTL_SECONDS)] | None = None

    @field_validator("items")
    @classmethod
    def _one_line_per_product(cls, items: list[ReservationLine]) -> list[ReservationLine]:
        ids = [line.product_id for line in items]
        if len(set(ids)) != len(ids):
            raise ValueError("each product may appear once; add up the quantities instead")
        return items


class ReservedItem(BaseModel):
    """A line as priced when it was held: the order keeps this snapshot."""

    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Money
    category_id: str | None


class ReservationDoc(BaseModel):
    """A stored reservation. `settled` is False between a status change and the stock moves
    that follow it; a retry or the sweeper finishes those moves (each is idempotent)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    reservation_key: str
    status: ReservationStatus
    items: list[ReservedItem]
    owner_id: str | None = None
    settled: bool = True
    expires_at: datetime
    created_at: datetime
    updated_at: datetime


class Reservation(View):
    id: str
    reservation_key: str
    status: ReservationStatus
    items: list[ReservedItem]
    expires_at: datetime
