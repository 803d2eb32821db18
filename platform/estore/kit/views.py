"""Views of documents: REST views and GraphQL types take their fields from the document by name.

A view names the fields it shows; whatever else the document holds (a password hash, an
internal key) stays behind because the view has no field for it. Only what a view computes is
written out, so a field added to both the document and the view needs no copying code.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class View(BaseModel):
    """A REST view whose fields are a subset of a document's."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, document: object) -> Self:
        return cls.model_validate(document, from_attributes=True)


def graphql_of(type_: type[T], document: object, **computed: Any) -> T:
    """A strawberry type filled from `document`'s attributes of the same names.

    `computed` gives the fields the document has no attribute for, or shows differently.
    """
    fields = [f.name for f in dataclasses.fields(type_) if f.init]  # type: ignore[arg-type]
    copied = {name: getattr(document, name) for name in fields if name not in computed}
    return type_(**copied, **computed)
