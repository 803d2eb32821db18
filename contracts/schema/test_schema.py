"""Schema checks: the gateway's API schema against its committed snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import DocumentNode, build_ast_schema, parse, print_schema
from graphql.language import (
    EnumTypeDefinitionNode,
    EnumValueDefinitionNode,
    NameNode,
    ObjectTypeDefinitionNode,
)

from contracts.schema.snapshot import SNAPSHOT, UPDATE_COMMAND, composed_sdl, diff


async def test_the_composed_api_schema_breaks_no_client_of_the_snapshot() -> None:
    changes = diff(SNAPSHOT.read_text(), await composed_sdl())
    print(changes.report())  # dangerous changes are shown, not failed
    assert not changes.breaking, (
        "breaking changes against contracts/schema/api.graphql:\n  "
        + "\n  ".join(changes.breaking)
        + f"\nIf every client is ready for them, accept them with `{UPDATE_COMMAND}`."
    )


def edited(document: DocumentNode, type_name: str, change: Callable[[Any], Any]) -> str:
    """The snapshot with one type definition replaced by `change(definition)`."""
    definitions = [
        change(d) if getattr(getattr(d, "name", None), "value", None) == type_name else d
        for d in document.definitions
    ]
    return print_schema(build_ast_schema(DocumentNode(definitions=tuple(definitions))))


def test_a_removed_field_is_reported_as_breaking_by_name() -> None:
    snapshot = parse(SNAPSHOT.read_text())

    def without_price(node: ObjectTypeDefinitionNode) -> ObjectTypeDefinitionNode:
        kept = tuple(f for f in node.fields if f.name.value != "price")
        return ObjectTypeDefinitionNode(
            name=node.name, fields=kept, interfaces=node.interfaces, directives=node.directives
        )

    changes = diff(SNAPSHOT.read_text(), edited(snapshot, "Product", without_price))
    assert changes.breaking == ["FIELD_REMOVED: Field Product.price was removed."]


def test_a_new_enum_value_is_dangerous_but_not_breaking() -> None:
    snapshot = parse(SNAPSHOT.read_text())

    def with_cheapest(node: EnumTypeDefinitionNode) -> EnumTypeDefinitionNode:
        extra = EnumValueDefinitionNode(name=NameNode(value="CHEAPEST_FIRST"), directives=())
        return EnumTypeDefinitionNode(
            name=node.name, values=(*node.values, extra), directives=node.directives
        )

    changes = diff(SNAPSHOT.read_text(), edited(snapshot, "ProductSort", with_cheapest))
    assert changes.breaking == []
    assert changes.dangerous == [
        "VALUE_ADDED_TO_ENUM: Enum value ProductSort.CHEAPEST_FIRST was added."
    ]
    assert "dangerous: VALUE_ADDED_TO_ENUM" in changes.report()
