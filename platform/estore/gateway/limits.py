"""Operation limits: depth, estimated cost and alias count, checked before anything is fetched.

Cost is a field count where a list field multiplies the cost of what it selects by its page
size argument when given as a literal, else by a default guess. Introspection is answered by
the gateway from the schema and is bounded by it, so it counts towards none of the limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

PAGE_SIZE_ARGUMENTS = ("first", "last", "limit", "pageSize", "size", "take")


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_cost: int = 10_000
    max_aliases: int = 30
    default_list_size: int = 10
    introspection: bool = True


@dataclass
class _Measure:
    depth: int = 0
    aliases: int = 0


def check_limits(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    limits: Limits,
) -> list[GraphQLError]:
    """GraphQL errors for each limit the operation exceeds (empty when within all)."""
    root = schema.get_root_type(operation.operation)
    measure = _Measure()
    cost = _cost(schema, root, operation.selection_set, fragments, limits, 1, measure)
    errors = []
    if measure.depth > limits.max_depth:
        errors.append(
            _error(
                f"Query depth {measure.depth} exceeds the maximum of {limits.max_depth}",
                "MAX_DEPTH_EXCEEDED",
            )
        )
    if cost > limits.max_cost:
        errors.append(
            _error(
                f"Query cost {cost} exceeds the maximum of {limits.max_cost}", "MAX_COST_EXCEEDED"
            )
        )
    if measure.aliases > limits.max_aliases:
        errors.append(
            _error(
                f"Query uses {measure.aliases} aliases, "
                f"more than the maximum of {limits.max_aliases}",
                "MAX_ALIASES_EXCEEDED",
            )
        )
    return errors


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _page_size(node: FieldNode, default: int) -> int:
    for argument in node.arguments or ():
        if argument.name.value in PAGE_SIZE_ARGUMENTS and isinstance(argument.value, IntValueNode):
            return max(int(argument.value.value), 0)
    return default


def _cost(
    schema: GraphQLSchema,
    parent: GraphQLNamedType | None,
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    limits: Limits,
    depth: int,
    measure: _Measure,
) -> int:
    total = 0
    for node in selection_set.selections:
        if not isinstance(node, FieldNode):
            inner = node.selection_set if hasattr(node, "selection_set") else None
            condition = getattr(node, "type_condition", None)
            if inner is None:  # a fragment spread
                fragment = fragments[node.name.value]  # type: ignore[attr-defined]
                inner, condition = fragment.selection_set, fragment.type_condition
            scope = schema.get_type(condition.name.value) if condition else parent
            total += _cost(schema, scope, inner, fragments, limits, depth, measure)
            continue
        if node.name.value.startswith("__"):
            continue
        measure.aliases += node.alias is not None
        measure.depth = max(measure.depth, depth)
        field = getattr(parent, "fields", {}).get(node.name.value)
        cost = 1
        if node.selection_set and field is not None:
            child = get_named_type(field.type)
            inner_cost = _cost(
                schema, child, node.selection_set, fragments, limits, depth + 1, measure
            )
            multiplier = (
                _page_size(node, limits.default_list_size)
                if is_list_type(get_nullable_type(field.type))
                else 1
            )
            cost += multiplier * inner_cost
        total += cost
    return total
