"""List inputs with a documented maximum, refused before a single item is looked at.

A client that sends 100,000 cart lines must not cost 100,000 validations: `MaxItems` is
pydantic metadata that counts first and raises `TooManyItems` (400; BAD_USER_INPUT over
GraphQL) naming the limit, and writes the limit into the OpenAPI schema (maxItems, or
maxProperties for a mapping). Resolvers that take a list straight from GraphQL call
`check_count` before converting it.
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from estore.kit.errors import BadRequest


class TooManyItems(BadRequest):
    code = "too_many_items"
    graphql_code = "BAD_USER_INPUT"


def check_count(what: str, items: Sized, limit: int) -> None:
    """Refuse `items` when there are more than `limit` of them."""
    if len(items) > limit:
        raise TooManyItems(f"{what}: at most {limit} are taken, got {len(items)}")


@dataclass(frozen=True)
class MaxItems:
    """`Annotated[list[X], MaxItems(50)]`: at most 50 items, counted before they are validated."""

    limit: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def count_first(value: Any, info: core_schema.ValidationInfo) -> Any:
            if isinstance(value, Sized) and not isinstance(value, str | bytes):
                check_count(info.field_name or "list", value, self.limit)
            return value

        return core_schema.with_info_before_validator_function(count_first, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        key = "maxProperties" if json_schema.get("type") == "object" else "maxItems"
        json_schema[key] = self.limit
        return json_schema
