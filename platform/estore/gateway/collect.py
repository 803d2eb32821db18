"""Field collection for planning: fragments flattened per concrete type, @skip/@include applied.

The planner resolves @skip/@include itself (against the request's variables) rather than
passing them on, so a plan depends only on which conditions hold; `condition_variables` names
the variables whose values therefore belong in the plan cache key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    is_abstract_type,
    visit,
)
from graphql.language import Visitor

CollectedFields = dict[str, list[FieldNode]]


def _condition(directive: DirectiveNode, variables: Mapping[str, Any]) -> bool:
    for argument in directive.arguments or ():
        if argument.name.value == "if":
            value = argument.value
            if isinstance(value, VariableNode):
                return variables.get(value.name.value) is True
            return isinstance(value, BooleanValueNode) and value.value
    return False


def included(
    node: FieldNode | FragmentSpreadNode | InlineFragmentNode, variables: Mapping[str, Any]
) -> bool:
    """@skip/@include on one selection, against coerced variable values."""
    for directive in node.directives or ():
        if directive.name.value == "skip" and _condition(directive, variables):
            return False
        if directive.name.value == "include" and not _condition(directive, variables):
            return False
    return True


def _applies(schema: GraphQLSchema, condition: str | None, object_type: GraphQLObjectType) -> bool:
    if condition is None or condition == object_type.name:
        return True
    named = schema.get_type(condition)
    return named is not None and is_abstract_type(named) and schema.is_sub_type(named, object_type)  # type: ignore[arg-type]


def collect_fields(
    schema: GraphQLSchema,
    object_type: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> CollectedFields:
    """Fields selected on `object_type`, grouped by response key in document order."""
    collected: CollectedFields = {}
    for selection_set in selection_sets:
        _collect(schema, object_type, selection_set, fragments, variables, collected)
    return collected


def _collect(
    schema: GraphQLSchema,
    object_type: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    collected: CollectedFields,
) -> None:
    for node in selection_set.selections:
        if not included(node, variables):  # type: ignore[arg-type]
            continue
        if isinstance(node, FieldNode):
            key = node.alias.value if node.alias else node.name.value
            collected.setdefault(key, []).append(node)
            continue
        if isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else None
            inner = node.selection_set
        else:
            fragment = fragments[node.name.value]  # type: ignore[attr-defined]
            condition, inner = fragment.type_condition.name.value, fragment.selection_set
        if _applies(schema, condition, object_type):
            _collect(schema, object_type, inner, fragments, variables, collected)


def condition_variables(document: DocumentNode) -> tuple[str, ...]:
    """Variables used by @skip/@include anywhere in the document, sorted."""
    found: set[str] = set()

    class _Finder(Visitor):
        def enter_directive(self, node: Any, *_: Any) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found.add(argument.value.name.value)

    visit(document, _Finder())
    return tuple(sorted(found))
