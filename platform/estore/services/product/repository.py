"""Product store access: products, reviews, reservations, stock changes and sales in product_db.

Every stock move is one conditional single-document update, because the fake Mongo has no
transactions and a real one would make the checkout pay for them: the filter states what
must still be true (enough available, the hold still there) and the update applies only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from estore.kit.errors import Conflict
from estore.services.product.listing import SORT_KEYS
from estore.services.product.models import (
    ProductDoc,
    ReservationDoc,
    ReservationStatus,
    Review,
    SoldLine,
    StockRecord,
)

AFTER = ReturnDocument.AFTER
BEFORE = ReturnDocument.BEFORE


class ProductRepository:
    def __init__(self, db: Any) -> None:
        self._products = db["products"]
        self._reviews = db["reviews"]
        self._reservations = db["reservations"]
        self._stock_changes = db["stock_changes"]
        self._sales = db["sales"]

    async def ensure_indexes(self) -> None:
        await self._products.create_index("sku", unique=True)
        await self._products.create_index("category_id")
        # One per listing sort, so a page is read from the index in order, not sorted.
        for field in dict.fromkeys(key.field for key in SORT_KEYS.values()):
            await self._products.create_index(field)
        await self._reviews.create_index([("product_id", 1), ("customer_id", 1)], unique=True)
        await self._reservations.create_index("reservation_key", unique=True)
        await self._reservations.create_index("status")
        await self._stock_changes.create_index("product_id")

    # --- products ---------------------------------------------------------------------------

    async def add_product(self, product: ProductDoc) -> None:
        try:
            await self._products.insert_one(product.model_dump(by_alias=True))
        except DuplicateKeyError as exc:
            raise Conflict(f"a product with sku {product.sku} already exists") from exc

    async def product(self, product_id: str) -> ProductDoc | None:
        doc = await self._products.find_one({"_id": product_id})
        return ProductDoc.model_validate(doc) if doc else None

    async def products(self, ids: Sequence[str]) -> list[ProductDoc]:
        cursor = self._products.find({"_id": {"$in": list(ids)}})
        return [ProductDoc.model_validate(doc) async for doc in cursor]

    async def find(
        self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int
    ) -> list[ProductDoc]:
        cursor = self._products.find(query).sort(sort).limit(limit)
        return [ProductDoc.model_validate(doc) async for doc in cursor]

    async def count(self, query: dict[str, Any]) -> int:
        return int(await self._products.count_documents(query))

    async def update_fields(
        self, product_id: str, changes: dict[str, Any], now: datetime
    ) -> ProductDoc | None:
        doc = await self._products.find_one_and_update(
            {"_id": product_id}, {"$set": {**changes, "updated_at": now}}, return_document=AFTER
        )
        return ProductDoc.model_validate(doc) if doc else None

    async def change_stock(self, product_id: str, delta: int, now: datetime) -> ProductDoc | None:
        """Add `delta` to stock (and available) unless that would take available below 0."""
        doc = await self._products.find_one_and_update(
            {"_id": product_id, "available": {"$gte": max(0, -delta)}},
            {"$inc": {"stock": delta, "available": delta}, "$set": {"updated_at": now}},
            return_document=AFTER,
        )
        return ProductDoc.model_validate(doc) if doc else None

    async def record_stock_change(self, record: StockRecord) -> None:
        await self._stock_changes.insert_one(record.model_dump(by_alias=True))

    async def stock_changes(self, product_id: str) -> list[StockRecord]:
        cursor = self._stock_changes.find({"product_id": product_id}).sort("at", 1)
        return [StockRecord.model_validate(doc) async for doc in cursor]

    # --- holds: each applies at most once per reservation and product ------------------------

    async def hold(self, product_id: str, reservation_id: str, quantity: int) -> bool:
        result = await self._products.update_one(
            {
                "_id": product_id,
                "available": {"$gte": quantity},
                f"holds.{reservation_id}": {"$exists": False},
            },
            {
                "$inc": {"reserved": quantity, "available": -quantity},
                "$set": {f"holds.{reservation_id}": quantity},
            },
        )
        return bool(result.modified_count)

    async def unhold(self, product_id: str, reservation_id: str, quantity: int) -> bool:
        """Give a hold back to available; False when there is no such hold (already undone)."""
        result = await self._products.update_one(
            {"_id": product_id, f"holds.{reservation_id}": quantity},
            {
                "$inc": {"reserved": -quantity, "available": quantity},
                "$unset": {f"holds.{reservation_id}": ""},
            },
        )
        return bool(result.modified_count)

    async def take(self, product_id: str, reservation_id: str, quantity: int) -> bool:
        """Turn a hold into a sale: the units leave stock for good."""
        result = await self._products.update_one(
            {"_id": product_id, f"holds.{reservation_id}": quantity},
            {
                "$inc": {"reserved": -quantity, "stock": -quantity},
                "$unset": {f"holds.{reservation_id}": ""},
            },
        )
        return bool(result.modified_count)

    async def put_back(self, product_id: str, reservation_id: str, quantity: int) -> bool:
        """Return sold units to stock, marked so a retry cannot return them twice."""
        result = await self._products.update_one(
            {"_id": product_id, f"restocks.{reservation_id}": {"$exists": False}},
            {
                "$inc": {"stock": quantity, "available": quantity},
                "$set": {f"restocks.{reservation_id}": quantity},
            },
        )
        return bool(result.modified_count)

    # --- reviews and sales ------------------------------------------------------------------

    async def add_review(self, review: Review) -> None:
        try:
            await self._reviews.insert_one(review.model_dump(by_alias=True))
        except DuplicateKeyError as exc:
            raise Conflict("you have already reviewed this product") from exc

    async def reviews(self, product_id: str, limit: int) -> list[Review]:
        cursor = self._reviews.find({"product_id": product_id}).sort("created_at", -1)
        return [Review.model_validate(doc) async for doc in cursor.limit(limit)]

    async def add_rating(self, product_id: str, rating: int) -> ProductDoc | None:
        doc = await self._products.find_one_and_update(
            {"_id": product_id},
            {"$inc": {"rating_total": rating, "review_count": 1}},
            return_document=AFTER,
        )
        return ProductDoc.model_validate(doc) if doc else None

    async def set_average(self, product: ProductDoc) -> None:
        """Store the average of the totals seen; a later review's totals win, never an older."""
        await self._products.update_one(
            {
                "_id": product.id,
                "rating_total": product.rating_total,
                "review_count": product.review_count,
            },
            {"$set": {"rating_avg": product.rating_total / product.review_count}},
        )

    async def record_sale(self, order_id: str, lines: list[SoldLine], at: datetime) -> bool:
        """True the first time an order is seen: its lines are then counted as sold.

        The lines counted are kept with the sale, so a cancellation takes back exactly them.
        """
        try:
            await self._sales.insert_one({"_id": order_id, "at": at, "lines": lines})
        except DuplicateKeyError:
            return False
        return True

    async def reverse_sale(self, order_id: str, at: datetime) -> list[SoldLine]:
        """Mark an order's sale reversed, once; the lines it had counted (none the next time).

        A cancellation seen before its confirmation leaves a reversed sale behind, so the late
        confirmation finds the order known and counts nothing.
        """
        before = await self._sales.find_one_and_update(
            {"_id": order_id},
            {"$set": {"reversed_at": at}, "$setOnInsert": {"at": at, "lines": []}},
            upsert=True,
            return_document=BEFORE,
        )
        if before is None or before.get("reversed_at") is not None:
            return []
        lines: list[SoldLine] = before["lines"]
        return lines

    async def add_sold(self, product_id: str, quantity: int) -> None:
        await self._products.update_one({"_id": product_id}, {"$inc": {"sold": quantity}})

    # --- reservations -----------------------------------------------------------------------

    async def add_reservation(self, reservation: ReservationDoc) -> bool:
        """False when a reservation with this key exists already."""
        try:
            await self._reservations.insert_one(reservation.model_dump(by_alias=True))
        except DuplicateKeyError:
            return False
        return True

    async def reservation(self, reservation_id: str) -> ReservationDoc | None:
        doc = await self._reservations.find_one({"_id": reservation_id})
        return ReservationDoc.model_validate(doc) if doc else None

    async def reservation_by_key(self, key: str) -> ReservationDoc | None:
        doc = await self._reservations.find_one({"reservation_key": key})
        return ReservationDoc.model_validate(doc) if doc else None

    async def move_reservation(
        self,
        reservation_id: str,
        from_status: ReservationStatus,
        to_status: ReservationStatus,
        now: datetime,
        *,
        settled: bool,
    ) -> ReservationDoc | None:
        """Change status only if it is still `from_status`: one of two racers wins."""
        doc = await self._reservations.find_one_and_update(
            {"_id": reservation_id, "status": from_status.value},
            {"$set": {"status": to_status.value, "settled": settled, "updated_at": now}},
            return_document=AFTER,
        )
        return ReservationDoc.model_validate(doc) if doc else None

    async def mark_settled(self, reservation_id: str, now: datetime) -> None:
        await self._reservations.update_one(
            {"_id": reservation_id}, {"$set": {"settled": True, "updated_at": now}}
        )

    async def drop_reservation(self, reservation_id: str) -> None:
        await self._reservations.delete_one(
            {"_id": reservation_id, "status": ReservationStatus.PENDING.value}
        )

    async def expired_holds(self, now: datetime, limit: int) -> list[ReservationDoc]:
        query = {"status": ReservationStatus.HELD.value, "expires_at": {"$lte": now}}
        cursor = self._reservations.find(query).limit(limit)
        return [ReservationDoc.model_validate(doc) async for doc in cursor]

    async def unsettled(self, before: datetime, limit: int) -> list[ReservationDoc]:
        """Reservations left mid-way (a crash between steps) and untouched since `before`."""
        query = {
            "$or": [{"settled": False}, {"status": ReservationStatus.PENDING.value}],
            "updated_at": {"$lte": before},
        }
        cursor = self._reservations.find(query).limit(limit)
        return [ReservationDoc.model_validate(doc) async for doc in cursor]
