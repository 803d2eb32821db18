"""Category documents and inputs: a tree kept as parent links plus each node's ancestors."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from estore.kit.views import View

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Name = Annotated[str, Field(min_length=1, max_length=80)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


def slugify(name: str) -> str:
    """A URL slug from a name: "Phones & Tablets" -> "phones-tablets", "Über" -> "uber"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.casefold()).strip("-")[:80].strip("-") or "category"


class Category(BaseModel):
    """A stored category. `ancestors` lists the ids from the root down to the parent, so
    breadcrumbs and subtree queries need no walk up or down the tree."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    name: str
    slug: str
    parent_id: str | None = None
    ancestors: list[str] = []
    position: int = 0
    created_at: datetime
    updated_at: datetime

    @property
    def depth(self) -> int:
        return len(self.ancestors)


class CategoryOut(View):
    id: str
    name: str
    slug: str
    parent_id: str | None
    ancestors: list[str]
    position: int
    depth: int


class CategoryList(BaseModel):
    items: list[CategoryOut]


class Subtree(BaseModel):
    id: str
    ids: list[str]


class CategoryInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    slug: Slug | None = None
    parent_id: Id | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] = 0

    @field_validator("slug", mode="before")
    @classmethod
    def _lower_slug(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class CategoryRename(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    slug: Slug | None = None


class CategoryMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_id: Id | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
