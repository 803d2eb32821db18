"""The client-facing API schema: subgraph types merged, federation internals and @inaccessible gone.

Merging follows federation's rules for what clients may rely on: output fields are the union
over subgraphs (nullable if any subgraph may return null), arguments and input fields the
intersection (a client may only send what every subgraph accepts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListTypeNode,
    NonNullTypeNode,
    TypeNode,
    build_ast_schema,
)

from estore.gateway.errors import CompositionError
from estore.gateway.sdl import SubgraphType
from estore.gateway.supergraph import TypeRoute

Definitions = list[tuple[str, SubgraphType]]
KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})


def _keep_directives(node: Any) -> tuple:
    return tuple(d for d in node.directives or () if d.name.value in KEPT_DIRECTIVES)


def _merged_description(nodes: Sequence[Any]) -> Any:
    """Federation's pick among differing descriptions: a sole non-empty one, else the most common.

    Ties go to the first subgraph by name; an empty description loses to any other.
    """
    counts: dict[str, int] = {}
    found: dict[str, Any] = {}
    for node in nodes:
        if node.description is None:
            continue
        text = node.description.value
        found.setdefault(text, node.description)
        counts[text] = counts.get(text, 0) + (1 if text else -(10**9))
    if not counts:
        return None
    return found[max(counts, key=lambda text: counts[text])]


def _loosest(types: Sequence[TypeNode]) -> TypeNode:
    """Non-null only where every subgraph promises non-null."""
    if all(isinstance(t, NonNullTypeNode) for t in types):
        inner = _loosest([t.type for t in types])  # type: ignore[attr-defined]
        return NonNullTypeNode(type=inner)  # type: ignore[arg-type]
    unwrapped = [t.type if isinstance(t, NonNullTypeNode) else t for t in types]
    if isinstance(unwrapped[0], ListTypeNode):
        return ListTypeNode(type=_loosest([t.type for t in unwrapped]))  # type: ignore[attr-defined]
    return unwrapped[0]


def _is_required(node: Any) -> bool:
    return isinstance(node.type, NonNullTypeNode) and node.default_value is None


def _intersect(owner: str, nodes_by_subgraph: list[tuple[str, Sequence[Any]]]) -> tuple:
    """Arguments or input fields every subgraph accepts; a required one must be in all."""
    names = [{n.name.value for n in nodes} for _, nodes in nodes_by_subgraph]
    common = set.intersection(*names) if names else set()
    for subgraph, nodes in nodes_by_subgraph:
        for node in nodes:
            if node.name.value not in common and _is_required(node):
                raise CompositionError(
                    f"'{owner}({node.name.value}:)' is required in subgraph '{subgraph}' "
                    "but missing from another subgraph that defines it"
                )
    first = nodes_by_subgraph[0][1]
    return tuple(
        dataclasses.replace(
            n,
            directives=_keep_directives(n),
            description=_merged_description(
                [m for _, nodes in nodes_by_subgraph for m in nodes if m.name.value == n.name.value]
            ),
        )
        for n in first
        if n.name.value in common
    )


def _merge_fields(type_name: str, defs: Definitions, route: TypeRoute) -> tuple:
    order: dict[str, list[tuple[str, Any]]] = {}
    hidden: set[str] = set()
    for subgraph, sub_type in defs:
        for name, sub_field in sub_type.fields.items():
            order.setdefault(name, []).append((subgraph, sub_field))
            if sub_field.inaccessible:
                hidden.add(name)
    merged = []
    for name, fdefs in order.items():
        if name in hidden:
            continue
        owned = [(s, f) for s, f in fdefs if not f.external] or fdefs
        node = owned[0][1].node
        arguments = _intersect(f"{type_name}.{name}", [(s, f.node.arguments) for s, f in owned])
        merged.append(
            dataclasses.replace(
                node,
                type=_loosest([f.node.type for _, f in owned]),
                arguments=arguments,
                directives=_keep_directives(node),
                description=_merged_description([f.node for _, f in owned]),
            )
        )
    return tuple(merged)


def _merge_type(name: str, defs: Definitions, route: TypeRoute, hidden: set[str]) -> Any:
    node: Any = defs[0][1].node
    changes: dict[str, Any] = {
        "directives": _keep_directives(node),
        "description": _merged_description([t.node for _, t in defs]),
    }
    if route.kind in ("object_type_definition", "interface_type_definition"):
        changes["fields"] = _merge_fields(name, defs, route)
        interfaces = {
            i.name.value: i for _, t in defs for i in getattr(t.node, "interfaces", None) or ()
        }
        changes["interfaces"] = tuple(i for n, i in interfaces.items() if n not in hidden)
    elif route.kind == "union_type_definition":
        members = {m.name.value: m for _, t in defs for m in getattr(t.node, "types", None) or ()}
        changes["types"] = tuple(m for n, m in members.items() if n not in hidden)
    elif route.kind == "enum_type_definition":
        sources: dict[str, list[Any]] = {}
        for _, t in defs:
            for value in getattr(t.node, "values", None) or ():
                sources.setdefault(value.name.value, []).append(value)
        changes["values"] = tuple(
            dataclasses.replace(same[0], description=_merged_description(same))
            for same in sources.values()
        )
    elif route.kind == "input_object_type_definition":
        changes["fields"] = _intersect(
            name, [(s, getattr(t.node, "fields", None) or ()) for s, t in defs]
        )
    return dataclasses.replace(node, **changes)


def build_api_schema(
    definitions: Mapping[str, Definitions], types: Mapping[str, TypeRoute]
) -> GraphQLSchema:
    if "Query" not in definitions:
        raise CompositionError("No subgraph defines a Query type")
    hidden = {n for n, defs in definitions.items() if any(t.inaccessible for _, t in defs)}
    nodes = [
        _merge_type(name, defs, types[name], hidden)
        for name, defs in definitions.items()
        if name not in hidden
    ]
    try:
        return build_ast_schema(DocumentNode(definitions=tuple(nodes)))
    except (GraphQLError, TypeError) as error:
        raise CompositionError(f"The composed API schema is invalid: {error}") from error
