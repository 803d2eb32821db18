"""Category REST routes under /api/v1: reads for other services; changes go through GraphQL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from estore.kit.deps import service_of
from estore.services.category.models import CategoryList, CategoryOut, Subtree
from estore.services.category.service import CategoryService

Responses = dict[int | str, dict[str, Any]]
Service = Annotated[CategoryService, Depends(service_of)]
NOT_FOUND: Responses = {404: {"description": "No such category"}}

router = APIRouter(tags=["categories"])


@router.get("/categories")
async def categories(service: Service) -> CategoryList:
    """Every category, parents before children, siblings by position."""
    tree = await service.tree()
    ordered = sorted(tree.all, key=lambda c: (c.depth, c.position, c.name))
    return CategoryList(items=[CategoryOut.of(c) for c in ordered])


@router.get("/categories/by-slug/{slug}", responses=NOT_FOUND)
async def by_slug(slug: str, service: Service) -> CategoryOut:
    return CategoryOut.of(await service.by_slug(slug))


@router.get("/categories/{category_id}", responses=NOT_FOUND)
async def category(category_id: str, service: Service) -> CategoryOut:
    return CategoryOut.of(await service.category(category_id))


@router.get("/categories/{category_id}/subtree", responses=NOT_FOUND)
async def subtree(category_id: str, service: Service) -> Subtree:
    """The category and all its descendants' ids: what a product listing filters on."""
    return Subtree(id=category_id, ids=await service.subtree(category_id))
