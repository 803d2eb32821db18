"""Product listings: filters, sort orders and opaque keyset cursors over them.

A cursor holds the sort it was made for and the last item's sort value and id; the next page
starts strictly after that pair, so inserts between pages neither repeat nor skip items the way
offsets would.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from estore.kit.errors import BadRequest
from estore.services.product.models import ProductDoc


class ProductSort(StrEnum):
    NEWEST = "NEWEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    POPULAR = "POPULAR"
    RATING = "RATING"
    NAME = "NAME"


@dataclass(frozen=True)
class SortKey:
    field: str
    direction: int
    value_of: Callable[[ProductDoc], Any]
    kind: type


SORT_KEYS: dict[ProductSort, SortKey] = {
    ProductSort.NEWEST: SortKey("created_at", -1, lambda p: p.created_at, datetime),
    ProductSort.PRICE_ASC: SortKey("price.amount", 1, lambda p: p.price.amount, int),
    ProductSort.PRICE_DESC: SortKey("price.amount", -1, lambda p: p.price.amount, int),
    ProductSort.POPULAR: SortKey("sold", -1, lambda p: p.sold, int),
    ProductSort.RATING: SortKey("rating_avg", -1, lambda p: p.rating_avg, float),
    ProductSort.NAME: SortKey("name", 1, lambda p: p.name, str),
}


class ProductFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    text: Annotated[str, Field(max_length=100)] | None = None
    min_price: Annotated[int, Field(ge=0)] | None = None
    max_price: Annotated[int, Field(ge=0)] | None = None
    in_stock: bool | None = None

    @model_validator(mode="after")
    def _price_range(self) -> Self:
        if self.min_price is not None and self.max_price is not None:
            if self.min_price > self.max_price:
                raise ValueError("min_price must not be above max_price")
        return self

    def query(self, category_ids: list[str] | None) -> dict[str, Any]:
        """The Mongo filter; `category_ids` is the filter's category and its descendants."""
        parts: list[dict[str, Any]] = []
        if category_ids is not None:
            parts.append({"category_id": {"$in": category_ids}})
        if self.text:
            pattern = {"$regex": re.escape(self.text), "$options": "i"}
            parts.append({"$or": [{"name": pattern}, {"description": pattern}, {"sku": pattern}]})
        price: dict[str, int] = {}
        if self.min_price is not None:
            price["$gte"] = self.min_price
        if self.max_price is not None:
            price["$lte"] = self.max_price
        if price:
            parts.append({"price.amount": price})
        if self.in_stock is not None:
            parts.append({"available": {"$gt": 0}} if self.in_stock else {"available": 0})
        return {"$and": parts} if parts else {}


@dataclass(frozen=True)
class Page:
    items: list[ProductDoc]
    cursors: list[str]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(sort: ProductSort, product: ProductDoc) -> str:
    value = SORT_KEYS[sort].value_of(product)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort.value, value, product.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: ProductSort) -> tuple[Any, str]:
    """The (sort value, id) a cursor points after; BadRequest if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, value, product_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = SORT_KEYS[ProductSort(name)]
        if key.kind is datetime:
            value = datetime.fromisoformat(value)
        elif key.kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, key.kind) or not isinstance(product_id, str):
            raise TypeError("cursor value has the wrong type")
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, KeyError) as exc:
        raise BadRequest(f"cursor {cursor[:40]!r} is malformed; pass a cursor from a page") from exc
    if name != sort.value:
        raise BadRequest(f"cursor was made for sort {name}, not {sort.value}; start over")
    return value, product_id


def after_clause(sort: ProductSort, value: Any, product_id: str) -> dict[str, Any]:
    key = SORT_KEYS[sort]
    beyond = "$gt" if key.direction == 1 else "$lt"
    return {
        "$or": [
            {key.field: {beyond: value}},
            {key.field: value, "_id": {"$gt": product_id}},
        ]
    }


def sort_spec(sort: ProductSort) -> list[tuple[str, int]]:
    key = SORT_KEYS[sort]
    return [(key.field, key.direction), ("_id", 1)]
