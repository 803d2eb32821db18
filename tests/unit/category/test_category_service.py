"""Category use cases over mongomock and Redis: the tree, moves, deletes and the read cache."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clock import FakeClock
from estore.kit.errors import BadRequest, Conflict, NotFound
from estore.services.category.cache import CategoryCache
from estore.services.category.models import CategoryInput, CategoryMove, CategoryRename, slugify
from estore.services.category.repository import CategoryRepository
from estore.services.category.service import CategoryService
from estore.services.category.settings import CategorySettings

pytestmark = pytest.mark.redis


class FakeProducts:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def count(self, category_id: str) -> int:
        return self.counts.get(category_id, 0)


@pytest.fixture
def db() -> object:
    return AsyncMongoMockClient(tz_aware=True)["category_db"]


@pytest.fixture
def stocked() -> FakeProducts:
    return FakeProducts()


@pytest.fixture
async def categories(
    db: object, redis: aioredis.Redis, clock: FakeClock, stocked: FakeProducts
) -> CategoryService:
    repo = CategoryRepository(db)
    await repo.ensure_indexes()
    cache = CategoryCache(redis, ttl_seconds=300)
    return CategoryService(repo, cache, stocked, clock, CategorySettings(max_depth=4))


async def add(service: CategoryService, name: str, parent: str | None = None) -> str:
    return (await service.create(CategoryInput(name=name, parent_id=parent))).id


def test_slugs_are_made_from_names() -> None:
    assert slugify("Phones & Tablets") == "phones-tablets"
    assert slugify("  ¡Über!  ") == "uber"
    assert slugify("???") == "category"


async def test_breadcrumbs_run_from_the_root_to_the_category(categories: CategoryService) -> None:
    tech = await add(categories, "Electronics")
    phones = await add(categories, "Phones", tech)
    android = await add(categories, "Android", phones)
    crumbs = await categories.breadcrumbs(android)
    assert [c.name for c in crumbs] == ["Electronics", "Phones", "Android"]
    assert (await categories.category(android)).depth == 2
    assert sorted(await categories.subtree(tech)) == sorted([tech, phones, android])
    assert [c.name for c in await categories.children(None)] == ["Electronics"]


async def test_a_slug_is_unique(categories: CategoryService) -> None:
    await add(categories, "Phones")
    with pytest.raises(Conflict, match="phones"):
        await add(categories, "Phones")


async def test_an_unknown_parent_is_refused(categories: CategoryService) -> None:
    with pytest.raises(BadRequest, match="parent"):
        await add(categories, "Orphan", "nope")


async def test_the_tree_is_kept_to_its_maximum_depth(categories: CategoryService) -> None:
    parent = None
    for level in range(4):
        parent = await add(categories, f"Level {level}", parent)
    with pytest.raises(BadRequest, match="4 levels"):
        await add(categories, "Too deep", parent)


async def test_a_move_carries_the_whole_subtree(categories: CategoryService) -> None:
    tech = await add(categories, "Electronics")
    home = await add(categories, "Home")
    phones = await add(categories, "Phones", tech)
    android = await add(categories, "Android", phones)
    await categories.move(phones, CategoryMove(parent_id=home))
    assert [c.name for c in await categories.breadcrumbs(android)] == ["Home", "Phones", "Android"]
    assert await categories.children(tech) == []
    await categories.move(phones, CategoryMove(parent_id=None))
    assert [c.name for c in await categories.breadcrumbs(android)] == ["Phones", "Android"]


async def test_a_move_that_would_make_a_cycle_is_refused(categories: CategoryService) -> None:
    tech = await add(categories, "Electronics")
    phones = await add(categories, "Phones", tech)
    android = await add(categories, "Android", phones)
    for target in (tech, android):
        with pytest.raises(BadRequest, match="cycle"):
            await categories.move(tech, CategoryMove(parent_id=target))
    assert [c.name for c in await categories.breadcrumbs(android)] == [
        "Electronics",
        "Phones",
        "Android",
    ]


async def test_only_an_empty_leaf_can_be_deleted(
    categories: CategoryService, stocked: FakeProducts
) -> None:
    tech = await add(categories, "Electronics")
    phones = await add(categories, "Phones", tech)
    with pytest.raises(Conflict, match="subcategories"):
        await categories.delete(tech)
    stocked.counts[phones] = 3
    with pytest.raises(Conflict, match="3 products"):
        await categories.delete(phones)
    stocked.counts[phones] = 0
    await categories.delete(phones)
    await categories.delete(tech)
    with pytest.raises(NotFound):
        await categories.category(tech)


async def test_reads_are_served_from_the_cache_until_a_change(
    categories: CategoryService, db: object
) -> None:
    phones = await add(categories, "Phones")
    assert (await categories.category(phones)).name == "Phones"
    # A write behind the service's back is not seen: the read came from the cache.
    await db["categories"].update_one({"_id": phones}, {"$set": {"name": "Sneaky"}})  # type: ignore[index]
    assert (await categories.category(phones)).name == "Phones"
    await categories.rename(phones, CategoryRename(name="Mobiles"))
    assert (await categories.category(phones)).name == "Mobiles"
    assert (await categories.by_slug("phones")).name == "Mobiles"
