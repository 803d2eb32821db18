"""Payment store access: charges and refunds in payment_db."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from estore.services.payment.models import Charge, ChargeStatus, Refund


class PaymentRepository:
    def __init__(self, db: Any) -> None:
        self._charges = db["charges"]
        self._refunds = db["refunds"]

    async def ensure_indexes(self) -> None:
        await self._charges.create_index("idempotency_key", unique=True)
        await self._refunds.create_index("idempotency_key", unique=True)
        await self._refunds.create_index("charge_id")

    async def add_charge(self, charge: Charge) -> Charge:
        """Record `charge`, or return the one a racing request recorded under the same key."""
        try:
            await self._charges.insert_one(charge.model_dump(by_alias=True))
        except DuplicateKeyError:
            existing = await self.charge_by_key(charge.idempotency_key)
            assert existing is not None, "a duplicate key must name a stored charge"
            return existing
        return charge

    async def charge(self, charge_id: str) -> Charge | None:
        doc = await self._charges.find_one({"_id": charge_id})
        return Charge.model_validate(doc) if doc else None

    async def charge_by_key(self, key: str) -> Charge | None:
        doc = await self._charges.find_one({"idempotency_key": key})
        return Charge.model_validate(doc) if doc else None

    async def take_refund(self, charge: Charge, amount: int) -> bool:
        """Count `amount` as refunded only if that leaves the total within the charge."""
        result = await self._charges.update_one(
            {
                "_id": charge.id,
                "status": ChargeStatus.SUCCEEDED,
                "refunded": {"$lte": charge.amount - amount},
            },
            {"$inc": {"refunded": amount}},
        )
        return bool(result.modified_count)

    async def give_back_refund(self, charge_id: str, amount: int) -> None:
        await self._charges.update_one({"_id": charge_id}, {"$inc": {"refunded": -amount}})

    async def add_refund(self, refund: Refund) -> bool:
        """False when the idempotency key is already taken (a racing duplicate)."""
        try:
            await self._refunds.insert_one(refund.model_dump(by_alias=True))
        except DuplicateKeyError:
            return False
        return True

    async def refund_by_key(self, key: str) -> Refund | None:
        doc = await self._refunds.find_one({"idempotency_key": key})
        return Refund.model_validate(doc) if doc else None

    async def refunds_of(self, charge_id: str) -> list[Refund]:
        cursor = self._refunds.find({"charge_id": charge_id}).sort("created_at", 1)
        return [Refund.model_validate(doc) async for doc in cursor]
