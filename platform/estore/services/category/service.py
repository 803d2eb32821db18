"""Category use cases: read the tree (through the cache), create, rename, move and delete."""

from __future__ import annotations

from estore.kit.clock import Clock
from estore.kit.errors import BadRequest, Conflict, NotFound
from estore.kit.ids import new_id
from estore.services.category.cache import CategoryCache
from estore.services.category.models import (
    Category,
    CategoryInput,
    CategoryMove,
    CategoryRename,
    slugify,
)
from estore.services.category.peers import ProductCounter
from estore.services.category.repository import CategoryRepository
from estore.services.category.settings import CategorySettings


class Tree:
    """One consistent read of every category, indexed for the questions readers ask."""

    def __init__(self, categories: list[Category]) -> None:
        self.all = categories
        self.by_id = {c.id: c for c in categories}
        self.by_slug = {c.slug: c for c in categories}

    def get(self, category_id: str) -> Category:
        if category_id not in self.by_id:
            raise NotFound(f"no such category: {category_id}")
        return self.by_id[category_id]

    def children(self, category_id: str | None) -> list[Category]:
        return [c for c in self.all if c.parent_id == category_id]

    def descendants(self, category_id: str) -> list[Category]:
        return [c for c in self.all if category_id in c.ancestors]


class CategoryService:
    def __init__(
        self,
        repo: CategoryRepository,
        cache: CategoryCache,
        products: ProductCounter,
        clock: Clock,
        settings: CategorySettings,
    ) -> None:
        self._repo = repo
        self._cache = cache
        self._products = products
        self._clock = clock
        self._settings = settings

    # --- reading ----------------------------------------------------------------------------

    async def tree(self) -> Tree:
        return Tree(await self._cache.categories(self._repo.all))

    async def category(self, category_id: str) -> Category:
        return (await self.tree()).get(category_id)

    async def by_slug(self, slug: str) -> Category:
        tree = await self.tree()
        if slug not in tree.by_slug:
            raise NotFound(f"no category has the slug {slug!r}")
        return tree.by_slug[slug]

    async def children(self, category_id: str | None) -> list[Category]:
        tree = await self.tree()
        if category_id is not None:
            tree.get(category_id)
        return tree.children(category_id)

    async def breadcrumbs(self, category_id: str) -> list[Category]:
        """From the root down to the category itself."""
        tree = await self.tree()
        category = tree.get(category_id)
        return [tree.by_id[a] for a in category.ancestors if a in tree.by_id] + [category]

    async def subtree(self, category_id: str) -> list[str]:
        """The category's id and its descendants' ids (what a product filter matches)."""
        tree = await self.tree()
        tree.get(category_id)
        return [category_id, *(c.id for c in tree.descendants(category_id))]

    # --- changing ---------------------------------------------------------------------------

    async def create(self, form: CategoryInput) -> Category:
        tree = await self.tree()
        ancestors = self._ancestors_under(tree, form.parent_id)
        now = self._clock.now()
        category = Category(
            _id=new_id(),
            name=form.name,
            slug=form.slug or slugify(form.name),
            parent_id=form.parent_id,
            ancestors=ancestors,
            position=form.position,
            created_at=now,
            updated_at=now,
        )
        await self._repo.add(category)
        await self._cache.invalidate()
        return category

    async def rename(self, category_id: str, form: CategoryRename) -> Category:
        (await self.tree()).get(category_id)
        changes: dict[str, object] = {"name": form.name}
        if form.slug is not None:
            changes["slug"] = form.slug
        await self._repo.update(category_id, changes, self._clock.now())
        await self._cache.invalidate()
        return await self.category(category_id)

    async def move(self, category_id: str, form: CategoryMove) -> Category:
        """Re-parent a category with its whole subtree; a move under itself is refused."""
        tree = await self.tree()
        category = tree.get(category_id)
        if form.parent_id is not None and (
            form.parent_id == category_id or category_id in tree.get(form.parent_id).ancestors
        ):
            raise BadRequest(
                f"cannot move {category.name!r} under itself or its own descendant: "
                "that would make a cycle"
            )
        ancestors = self._ancestors_under(tree, form.parent_id, extra=self._height(tree, category))
        now = self._clock.now()
        changes: dict[str, object] = {"parent_id": form.parent_id, "ancestors": ancestors}
        if form.position is not None:
            changes["position"] = form.position
        await self._repo.update(category_id, changes, now)
        for below in tree.descendants(category_id):
            keep = below.ancestors[below.ancestors.index(category_id) :]
            await self._repo.update(below.id, {"ancestors": [*ancestors, *keep]}, now)
        await self._cache.invalidate()
        return await self.category(category_id)

    async def delete(self, category_id: str) -> None:
        """Delete an empty leaf: no child categories and no products filed under it."""
        category = (await self.tree()).get(category_id)
        if await self._repo.has_children(category_id):
            raise Conflict(f"{category.name!r} has subcategories; move or delete them first")
        count = await self._products.count(category_id)
        if count:
            raise Conflict(f"{category.name!r} still holds {count} products; move them first")
        await self._repo.delete(category_id)
        await self._cache.invalidate()

    def _ancestors_under(self, tree: Tree, parent_id: str | None, extra: int = 0) -> list[str]:
        """The ancestors a child of `parent_id` gets; refuses an unknown parent or a deep tree."""
        if parent_id is None:
            return []
        if parent_id not in tree.by_id:
            raise BadRequest(f"no such parent category: {parent_id}")
        parent = tree.by_id[parent_id]
        ancestors = [*parent.ancestors, parent.id]
        if len(ancestors) + extra >= self._settings.max_depth:
            raise BadRequest(f"categories may nest at most {self._settings.max_depth} levels deep")
        return ancestors

    @staticmethod
    def _height(tree: Tree, category: Category) -> int:
        """How many levels hang below `category`."""
        below = tree.descendants(category.id)
        return max((c.depth - category.depth for c in below), default=0)
