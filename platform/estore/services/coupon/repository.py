"""Coupon store access: coupons and redemptions in coupon_db, counted by atomic updates.

The fake Mongo has no transactions, so every limit is enforced by one conditional update
on the coupon document, and every redemption state change by one conditional update.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from estore.kit.errors import Conflict
from estore.services.coupon.models import Coupon, Redemption, RedemptionStatus


class CouponRepository:
    def __init__(self, db: Any) -> None:
        self._coupons = db["coupons"]
        self._redemptions = db["redemptions"]

    async def ensure_indexes(self) -> None:
        await self._coupons.create_index("code", unique=True)
        await self._coupons.create_index("customer_id")
        await self._redemptions.create_index("order_id", unique=True)
        await self._redemptions.create_index("coupon_id")

    # --- coupons ----------------------------------------------------------------------------

    async def add_coupon(self, coupon: Coupon) -> None:
        try:
            await self._coupons.insert_one(coupon.model_dump(by_alias=True))
        except DuplicateKeyError as exc:
            raise Conflict(f"a coupon with code {coupon.code} already exists") from exc

    async def coupon(self, coupon_id: str) -> Coupon | None:
        doc = await self._coupons.find_one({"_id": coupon_id})
        return Coupon.model_validate(doc) if doc else None

    async def coupon_by_code(self, code: str) -> Coupon | None:
        doc = await self._coupons.find_one({"code": code})
        return Coupon.model_validate(doc) if doc else None

    async def coupons(self, query: dict[str, Any], limit: int = 500) -> list[Coupon]:
        cursor = self._coupons.find(query).sort("created_at", 1).limit(limit)
        return [Coupon.model_validate(doc) async for doc in cursor]

    async def deactivate(self, code: str, at: datetime) -> Coupon | None:
        await self._coupons.update_one(
            {"code": code}, {"$set": {"active": False, "updated_at": at}}
        )
        return await self.coupon_by_code(code)

    async def count(self, coupon: Coupon, customer_id: str) -> bool:
        """Count one redemption only if both limits still allow it: one atomic update."""
        per_customer = f"per_customer.{customer_id}"
        query: dict[str, Any] = {"_id": coupon.id, "active": True}
        if coupon.max_redemptions is not None:
            query["redeemed"] = {"$lt": coupon.max_redemptions}
        if coupon.max_per_customer is not None:
            query["$or"] = [
                {per_customer: {"$exists": False}},
                {per_customer: {"$lt": coupon.max_per_customer}},
            ]
        result = await self._coupons.update_one(query, {"$inc": {"redeemed": 1, per_customer: 1}})
        return bool(result.modified_count)

    async def uncount(self, coupon_id: str, customer_id: str) -> None:
        await self._coupons.update_one(
            {"_id": coupon_id}, {"$inc": {"redeemed": -1, f"per_customer.{customer_id}": -1}}
        )

    # --- redemptions ------------------------------------------------------------------------

    async def redemption(self, order_id: str) -> Redemption | None:
        doc = await self._redemptions.find_one({"order_id": order_id})
        return Redemption.model_validate(doc) if doc else None

    async def claim(self, redemption: Redemption) -> bool:
        """Insert the order's redemption record; False when the order already has one."""
        try:
            await self._redemptions.insert_one(redemption.model_dump(by_alias=True))
        except DuplicateKeyError:
            return False
        return True

    async def move(
        self,
        redemption: Redemption,
        source: RedemptionStatus,
        target: RedemptionStatus,
        at: datetime | None = None,
    ) -> bool:
        """Change the status only if it is still `source`: of two racers, one wins."""
        changes: dict[str, Any] = {"status": target}
        if target is RedemptionStatus.RELEASED:
            changes["released_at"] = at
        result = await self._redemptions.update_one(
            {"_id": redemption.id, "status": source}, {"$set": changes}
        )
        return bool(result.modified_count)

    async def drop(self, redemption: Redemption, status: RedemptionStatus) -> None:
        await self._redemptions.delete_one({"_id": redemption.id, "status": status})
