"""Category subgraph: the Category entity, the tree and breadcrumbs, and the admin mutations."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from estore.kit.errors import BadRequest, validated
from estore.kit.graphql import SubgraphContext, SubgraphSchema
from estore.kit.identity import Role
from estore.kit.views import graphql_of
from estore.services.category.models import Category as CategoryDoc
from estore.services.category.models import CategoryInput, CategoryMove, CategoryRename
from estore.services.category.service import CategoryService

Ctx = Info[SubgraphContext, Any]


def _service(info: Ctx) -> CategoryService:
    service: CategoryService = info.context.service
    return service


def _require_admin(info: Ctx) -> None:
    info.context.with_role(Role.ADMIN, "only admins may change categories")


@strawberry.federation.type(keys=["id"])
class Category:
    id: strawberry.ID
    name: str
    slug: str
    position: int
    depth: int = strawberry.field(description="0 for a top-level category")
    parent_id: strawberry.ID | None

    @strawberry.field
    async def parent(self, info: Ctx) -> Category | None:
        if self.parent_id is None:
            return None
        return Category.of(await _service(info).category(str(self.parent_id)))

    @strawberry.field(description="Direct subcategories, by position.")
    async def children(self, info: Ctx) -> list[Category]:
        return [Category.of(c) for c in await _service(info).children(str(self.id))]

    @strawberry.field(description="From the top-level category down to this one.")
    async def breadcrumbs(self, info: Ctx) -> list[Category]:
        return [Category.of(c) for c in await _service(info).breadcrumbs(str(self.id))]

    @classmethod
    def of(cls, doc: CategoryDoc) -> Category:
        return graphql_of(cls, doc, parent_id=doc.parent_id or None)

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Category:
        return cls.of(await _service(info).category(str(id)))


@strawberry.input
class CreateCategoryInput:
    name: str
    slug: str | None = None
    parent_id: strawberry.ID | None = None
    position: int = 0


@strawberry.type
class Query:
    @strawberry.field(description="The top-level categories; follow `children` for the tree.")
    async def categories(self, info: Ctx) -> list[Category]:
        return [Category.of(c) for c in await _service(info).children(None)]

    @strawberry.field(description="One category by id or by slug (give exactly one).")
    async def category(
        self, info: Ctx, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Category:
        if (id is None) == (slug is None):
            raise BadRequest("give exactly one of id or slug")
        service = _service(info)
        doc = (
            await service.category(str(id)) if id is not None else await service.by_slug(slug or "")
        )
        return Category.of(doc)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_category(self, info: Ctx, input: CreateCategoryInput) -> Category:
        _require_admin(info)
        form = validated(CategoryInput, strawberry.asdict(input))
        return Category.of(await _service(info).create(form))

    @strawberry.mutation
    async def rename_category(
        self, info: Ctx, id: strawberry.ID, name: str, slug: str | None = None
    ) -> Category:
        _require_admin(info)
        form = validated(CategoryRename, {"name": name, "slug": slug})
        return Category.of(await _service(info).rename(str(id), form))

    @strawberry.mutation(description="Move under another parent (null: to the top level).")
    async def move_category(
        self,
        info: Ctx,
        id: strawberry.ID,
        parent_id: strawberry.ID | None = None,
        position: int | None = None,
    ) -> Category:
        _require_admin(info)
        form = validated(CategoryMove, {"parent_id": parent_id, "position": position})
        return Category.of(await _service(info).move(str(id), form))

    @strawberry.mutation(description="Delete an empty leaf category.")
    async def delete_category(self, info: Ctx, id: strawberry.ID) -> bool:
        _require_admin(info)
        await _service(info).delete(str(id))
        return True


def build_schema() -> SubgraphSchema:
    return SubgraphSchema(query=Query, mutation=Mutation, types=[Category])
