"""The client's operation compiled once into a projection of the merged answers, for shaping.

Shaping by graphql-core (shape.py) resolves every field of every object through the
executor: about as costly as the subgraph's own execution. Most answers need none of what
makes that necessary: no subgraph failed, no value is null where the schema forbids it,
every leaf serializes. For those, a projection compiled from the document (fields grouped
by response key in document order, fragments on the object's own type merged in, aliases,
`__typename`) copies the answer in one walk, serializing leaves with the schema's own
scalar and enum types, so the result is the executor's.

Anything the walk would have to decide as the executor does (a null in a non-null field, a
leaf that does not serialize, a value of the wrong kind) declines the whole answer, and
shape.py shapes it with graphql-core. Documents it cannot compile at all (directives such
as @skip/@include, abstract types, introspection other than `__typename`, fragment
arguments) are always shaped by graphql-core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    is_abstract_type,
    is_leaf_type,
)

Complete = Callable[[Any], Any]
Projection = Callable[[dict[str, Any]], dict[str, Any] | None]


class _NotCompilable(Exception):
    """The document needs the executor's decisions for every answer."""


class _Declined(Exception):
    """This answer needs the executor's decisions (errors, null propagation)."""


def compile_projection(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Projection | None:
    """The operation's projection: the shaped data for a merged answer, or None when that
    answer must be shaped by graphql-core. None instead of a projection for documents that
    always must be."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    try:
        complete = _object(schema, fragments, root, [operation.selection_set])
    except _NotCompilable:
        return None

    def project(data: dict[str, Any]) -> dict[str, Any] | None:
        try:
            shaped: dict[str, Any] = complete(data)
        except _Declined:
            return None
        return shaped

    return project


def _object(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    parent: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
) -> Complete:
    entries: list[tuple[str, Complete | None, Any]] = []
    for key, nodes in _grouped_fields(schema, fragments, parent, selection_sets).items():
        name = nodes[0].name.value
        if name == "__typename":
            entries.append((key, None, parent.name))
            continue
        if name.startswith("__"):
            raise _NotCompilable  # __schema, __type
        field_type = parent.fields[name].type
        subsets = [node.selection_set for node in nodes if node.selection_set]
        entries.append((key, _value(schema, fragments, field_type, subsets), None))

    def complete(source: Any) -> dict[str, Any]:
        # The executor's resolver reads the merged answer by response key; missing is null.
        return {
            key: constant if each is None else each(source.get(key))
            for key, each, constant in entries
        }

    return complete


def _value(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    field_type: GraphQLOutputType,
    subsets: list[SelectionSetNode],
) -> Complete:
    if isinstance(field_type, GraphQLNonNull):
        inner = _value(schema, fragments, field_type.of_type, subsets)

        def non_null(value: Any) -> Any:
            if value is None:
                raise _Declined  # the executor nulls the parent and reports it
            return inner(value)

        return non_null
    if isinstance(field_type, GraphQLList):
        item = _value(schema, fragments, field_type.of_type, subsets)

        def listed(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is not list:
                raise _Declined
            return [item(each) for each in value]

        return listed
    if is_leaf_type(field_type):
        return _leaf(field_type)
    if is_abstract_type(field_type) or not isinstance(field_type, GraphQLObjectType):
        raise _NotCompilable  # the runtime type would have to be resolved per value
    members = _object(schema, fragments, field_type, subsets)

    def nested(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not dict:
            raise _Declined
        return members(value)

    return nested


def _leaf(leaf_type: Any) -> Complete:
    serialize = leaf_type.serialize

    def leaf(value: Any) -> Any:
        if value is None:
            return None
        try:
            serialized = serialize(value)
        except Exception:  # the executor turns any serializer error into a field error
            raise _Declined from None
        if serialized is None or serialized is Undefined:
            raise _Declined
        return serialized

    return leaf


def _grouped_fields(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    parent: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
) -> dict[str, list[FieldNode]]:
    """Fields by response key in the executor's order, fragments applying to `parent` merged."""
    grouped: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()

    def visit(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise _NotCompilable  # @skip/@include decide per request, @defer per answer
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if _applies(schema, selection.type_condition, parent):
                    visit(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = fragments.get(name)
                if fragment is None or fragment.directives or fragment.variable_definitions:
                    raise _NotCompilable
                if _applies(schema, fragment.type_condition, parent):
                    visit(fragment.selection_set)

    for selection_set in selection_sets:
        visit(selection_set)
    return grouped


def _applies(
    schema: GraphQLSchema, condition: NamedTypeNode | None, parent: GraphQLObjectType
) -> bool:
    if condition is None:
        return True
    conditional = schema.get_type(condition.name.value)
    if conditional is parent:
        return True
    if is_abstract_type(conditional):
        return schema.is_sub_type(conditional, parent)  # type: ignore[arg-type]
    return False
