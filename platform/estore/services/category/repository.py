"""Category store access: the categories collection in category_db."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from estore.kit.errors import Conflict
from estore.services.category.models import Category


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"a category with slug {slug!r} already exists")


class CategoryRepository:
    def __init__(self, db: Any) -> None:
        self._categories = db["categories"]

    async def ensure_indexes(self) -> None:
        await self._categories.create_index("slug", unique=True)
        await self._categories.create_index("parent_id")
        await self._categories.create_index("ancestors")

    async def all(self) -> list[Category]:
        cursor = self._categories.find({}).sort([("position", 1), ("name", 1)])
        return [Category.model_validate(doc) async for doc in cursor]

    async def add(self, category: Category) -> None:
        try:
            await self._categories.insert_one(category.model_dump(by_alias=True))
        except DuplicateKeyError as exc:
            raise _slug_taken(category.slug) from exc

    async def update(self, category_id: str, changes: dict[str, Any], now: datetime) -> bool:
        try:
            result = await self._categories.update_one(
                {"_id": category_id}, {"$set": {**changes, "updated_at": now}}
            )
        except DuplicateKeyError as exc:
            raise _slug_taken(str(changes.get("slug"))) from exc
        return bool(result.matched_count)

    async def has_children(self, category_id: str) -> bool:
        return await self._categories.find_one({"parent_id": category_id}) is not None

    async def delete(self, category_id: str) -> bool:
        result = await self._categories.delete_one({"_id": category_id})
        return bool(result.deleted_count)
