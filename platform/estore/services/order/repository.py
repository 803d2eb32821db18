"""Order store access: orders, their lines and the sagas that build them, in order_db."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from estore.services.order.models import FINAL_SAGA_STATUSES, Order, OrderItem, Saga


class OrderRepository:
    def __init__(self, db: Any) -> None:
        self._orders = db["orders"]
        self._items = db["order_items"]
        self._sagas = db["sagas"]

    async def ensure_indexes(self) -> None:
        # One order per customer and idempotency key: a retried checkout finds the first one.
        await self._orders.create_index([("customer_id", 1), ("idempotency_key", 1)], unique=True)
        await self._orders.create_index("customer_id")
        await self._items.create_index("order_id")
        await self._sagas.create_index("status")

    # --- orders -------------------------------------------------------------------------------

    async def claim(self, order: Order) -> Order | None:
        """Insert `order`; when the customer already used its idempotency key, None."""
        try:
            await self._orders.insert_one(order.model_dump(by_alias=True, exclude={"items"}))
        except DuplicateKeyError:
            return None
        return order

    async def by_key(self, customer_id: str, key: str) -> Order | None:
        doc = await self._orders.find_one({"customer_id": customer_id, "idempotency_key": key})
        return await self._with_items(doc) if doc else None

    async def get(self, order_id: str) -> Order | None:
        doc = await self._orders.find_one({"_id": order_id})
        return await self._with_items(doc) if doc else None

    async def page(self, customer_id: str | None, limit: int, offset: int) -> list[Order]:
        query = {} if customer_id is None else {"customer_id": customer_id}
        cursor = self._orders.find(query).sort("created_at", -1).skip(offset).limit(limit)
        docs = [doc async for doc in cursor]
        items = await self._items_of([d["_id"] for d in docs])
        return [_order(doc, items.get(doc["_id"], [])) for doc in docs]

    async def update(self, order_id: str, changes: dict[str, Any]) -> None:
        await self._orders.update_one({"_id": order_id}, {"$set": changes})

    async def record_items(self, order_id: str, items: list[OrderItem]) -> None:
        """Write the priced lines; idempotent, so a resumed saga can write them again."""
        await self._items.delete_many({"order_id": order_id})
        if items:
            await self._items.insert_many(
                [
                    {"_id": f"{order_id}:{n}", "order_id": order_id, "line": n, **item.model_dump()}
                    for n, item in enumerate(items)
                ]
            )

    async def _with_items(self, doc: dict[str, Any]) -> Order:
        items = await self._items_of([doc["_id"]])
        return _order(doc, items.get(doc["_id"], []))

    async def _items_of(self, order_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        by_order: dict[str, list[dict[str, Any]]] = {}
        if not order_ids:
            return by_order
        async for doc in self._items.find({"order_id": {"$in": order_ids}}):
            by_order.setdefault(doc["order_id"], []).append(doc)
        return by_order

    # --- sagas --------------------------------------------------------------------------------

    async def add_saga(self, saga: Saga) -> None:
        await self._sagas.insert_one(saga.model_dump(by_alias=True, mode="python"))

    async def save_saga(self, saga: Saga) -> None:
        doc = saga.model_dump(by_alias=True, mode="python")
        await self._sagas.replace_one({"_id": saga.id}, doc)

    async def saga(self, saga_id: str) -> Saga | None:
        doc = await self._sagas.find_one({"_id": saga_id})
        return Saga.model_validate(doc) if doc else None

    async def unfinished_saga_ids(self) -> list[str]:
        query = {"status": {"$nin": [s.value for s in FINAL_SAGA_STATUSES]}}
        return [doc["_id"] async for doc in self._sagas.find(query, {"_id": 1})]

    async def lease_saga(
        self, saga_id: str, owner: str, now: datetime, until: datetime
    ) -> Saga | None:
        """Become the saga's runner if it is unfinished and is ours or its lease has lapsed."""
        query: dict[str, Any] = {
            "_id": saga_id,
            "status": {"$nin": [s.value for s in FINAL_SAGA_STATUSES]},
            "$or": [{"owner": owner}, {"lease_until": None}, {"lease_until": {"$lte": now}}],
        }
        doc = await self._sagas.find_one_and_update(
            query,
            {"$set": {"owner": owner, "lease_until": until}},
            return_document=ReturnDocument.AFTER,
        )
        return Saga.model_validate(doc) if doc else None


def _order(doc: dict[str, Any], items: list[dict[str, Any]]) -> Order:
    lines = [OrderItem.model_validate(i) for i in sorted(items, key=lambda i: i["line"])]
    return Order.model_validate({**doc, "items": lines})
