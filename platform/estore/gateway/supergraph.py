"""The routing map: which subgraph resolves each field, entity keys, and federation directives.

Composition builds it once; the planner only reads it. Subgraph lists are sorted tuples so that
every choice the planner makes between equivalent subgraphs is deterministic, which keeps the
subgraph operation texts identical from one request to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from graphql import (
    FieldNode,
    GraphQLSchema,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_object_type,
    parse,
)
from graphql.language import OperationDefinitionNode

from estore.gateway.limits import CostDirectives
from estore.gateway.sdl import Subgraph


@cache
def parse_field_set(fields: str) -> SelectionSetNode:
    """Parse a federation FieldSet ("id", "sku upc", "owner { id }") into a selection set."""
    operation = parse("{" + fields + "}", no_location=True).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


def field_set_names(selection: SelectionSetNode) -> list[str]:
    return [s.name.value for s in selection.selections if isinstance(s, FieldNode)]


@dataclass(frozen=True)
class EntityKey:
    fields: str
    resolvable: bool

    @property
    def selection(self) -> SelectionSetNode:
        return parse_field_set(self.fields)


@dataclass
class FieldRoute:
    parent: str
    name: str
    resolvers: tuple[str, ...] = ()
    defined_in: tuple[str, ...] = ()
    external_in: frozenset[str] = frozenset()
    shareable_in: frozenset[str] = frozenset()
    requires: dict[str, str] = field(default_factory=dict)
    provides: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass
class TypeRoute:
    name: str
    kind: str
    subgraphs: tuple[str, ...]
    keys: dict[str, tuple[EntityKey, ...]] = field(default_factory=dict)
    fields: dict[str, FieldRoute] = field(default_factory=dict)

    def key_field_names(self, subgraph: str) -> set[str]:
        names: set[str] = set()
        for key in self.keys.get(subgraph, ()):
            names.update(field_set_names(key.selection))
        return names


@dataclass
class Supergraph:
    """The composed graph: the client-facing API schema plus the routing map."""

    api_schema: GraphQLSchema
    subgraphs: dict[str, Subgraph]
    types: dict[str, TypeRoute]
    # Where each subgraph listens, when the supergraph says (Apollo's join__graph urls).
    urls: dict[str, str] = field(default_factory=dict)
    # The supergraph's @cost and @listSize, which the cost limit counts.
    costs: CostDirectives = field(default_factory=CostDirectives)

    def route(self, type_name: str, field_name: str) -> FieldRoute | None:
        route = self.types.get(type_name)
        return route.fields.get(field_name) if route else None

    def defines(self, subgraph: str, type_name: str, field_name: str | None = None) -> bool:
        sub_type = self.subgraphs[subgraph].types.get(type_name)
        if sub_type is None:
            return False
        return field_name is None or field_name in sub_type.fields

    def resolves(self, subgraph: str, type_name: str, field_name: str) -> bool:
        """Whether `subgraph` can answer the field itself (keys count, @external does not)."""
        if field_name == "__typename":
            return True
        route = self.route(type_name, field_name)
        if route is None:
            return False
        if subgraph in route.resolvers:
            return True
        type_route = self.types[type_name]
        return self.defines(subgraph, type_name, field_name) and (
            field_name in type_route.key_field_names(subgraph)
        )

    def resolvable_keys(self, subgraph: str, type_name: str) -> tuple[EntityKey, ...]:
        route = self.types.get(type_name)
        keys = route.keys.get(subgraph, ()) if route else ()
        return tuple(k for k in keys if k.resolvable)

    def possible_types(self, subgraph: str, type_name: str) -> set[str]:
        """Concrete types `subgraph` may return where it declares `type_name`."""
        schema = self.subgraphs[subgraph].schema
        named = schema.get_type(type_name)
        if named is None:
            return set()
        if is_object_type(named):
            return {type_name}
        if is_abstract_type(named):
            return {t.name for t in schema.get_possible_types(named)}
        return set()

    def field_type_name(self, subgraph: str, type_name: str, field_name: str) -> str | None:
        """The named return type of a field as `subgraph` declares it."""
        named = self.subgraphs[subgraph].schema.get_type(type_name)
        fields = getattr(named, "fields", None)
        if not fields or field_name not in fields:
            return None
        return get_named_type(fields[field_name].type).name

    def can_provide(self, subgraph: str, type_name: str, selection: SelectionSetNode) -> bool:
        """Whether `subgraph` alone can answer a field set (a key) on `type_name`."""
        for node in selection.selections:
            if not isinstance(node, FieldNode):
                return False
            if not self.resolves(subgraph, type_name, node.name.value):
                return False
            if node.selection_set:
                child = self.field_type_name(subgraph, type_name, node.name.value)
                if child is None or not self.can_provide(subgraph, child, node.selection_set):
                    return False
        return True

    def reachable(
        self, source: str, type_name: str, field_name: str, seen: frozenset[str] = frozenset()
    ) -> bool:
        """Whether `source` can get the field, itself or through chained entity fetches."""
        if self.resolves(source, type_name, field_name):
            return True
        route = self.route(type_name, field_name)
        seen = seen | {source}
        for target in route.resolvers if route else ():
            if target in seen:
                continue
            for key in self.resolvable_keys(target, type_name):
                names = field_set_names(key.selection)
                if all(self.reachable(source, type_name, n, seen | {target}) for n in names):
                    return True
        return False
