"""Query planner: a validated client operation in, fetches per subgraph with dependencies out.

Root fields go to the subgraph that resolves them (queries grouped, mutations kept in order).
A field the current subgraph cannot resolve becomes part of an `_entities` fetch on a subgraph
that can, keyed by a @key the current one can provide; @requires inputs are fetched first;
@provides and @shareable keep fields in the current subgraph when it can answer them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    is_object_type,
)

from estore.gateway.collect import collect_fields
from estore.gateway.errors import PlanningError
from estore.gateway.plan_model import LIST, Fetch, Path, QueryPlan, RepField, render_fetch
from estore.gateway.selection import INTERNAL_PREFIX, KeySpace, Selection, signature
from estore.gateway.supergraph import (
    EntityKey,
    FieldRoute,
    Supergraph,
    field_set_names,
    parse_field_set,
)

Provided = dict[str, Any]  # field name -> Provided for its sub-fields ({} for a leaf)


def build_plan(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> QueryPlan:
    """Plan one operation; `variables` only decide @skip/@include."""
    return _Planner(supergraph, operation, fragments, variables).plan()


def _list_depth(field_type: Any) -> int:
    depth, current = 0, get_nullable_type(field_type)
    while is_list_type(current):
        depth += 1
        assert isinstance(current, GraphQLList)
        current = get_nullable_type(current.of_type)
    return depth


def _provided_tree(selection: SelectionSetNode) -> Provided:
    tree: Provided = {}
    for node in selection.selections:
        if isinstance(node, FieldNode):
            tree[node.name.value] = _provided_tree(node.selection_set) if node.selection_set else {}
    return tree


class _Planner:
    def __init__(
        self,
        supergraph: Supergraph,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.supergraph = supergraph
        self.api = supergraph.api_schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.fetches: list[Fetch] = []
        self.keys = KeySpace()
        self.kind = operation.operation.value

    def plan(self) -> QueryPlan:
        root = self.api.get_root_type(self.operation.operation)
        if root is None:
            raise PlanningError(f"The schema has no {self.kind} type")
        fields = self._collect(root, [self.operation.selection_set])
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name.startswith("__"):
                continue  # introspection and __typename are answered by the gateway itself
            route = self.supergraph.route(root.name, name)
            if route is None or not route.resolvers:
                raise PlanningError(f"No subgraph resolves '{root.name}.{name}'")
            for fetch, part in self._root_parts(root, route, nodes):
                self._add_field(fetch, fetch.selection, root, key, part, (), None)
        for fetch in self.fetches:
            top = None if fetch.entity else root.name
            self._alias_conflicts(fetch.subgraph, top, fetch.selection)
            render_fetch(fetch, self.operation)
        return QueryPlan(operation_type=self.kind, fetches=tuple(self.fetches))

    def _collect(self, object_type: GraphQLObjectType, sets: list[SelectionSetNode]) -> dict:
        return collect_fields(self.api, object_type, sets, self.fragments, self.variables)

    def _new_fetch(self, subgraph: str, path: Path, entity: bool, deps: set[int]) -> Fetch:
        fetch = Fetch(len(self.fetches), subgraph, path, entity, depends_on=set(deps))
        self.fetches.append(fetch)
        return fetch

    def _root_fetch(self, route: FieldRoute) -> Fetch:
        roots = [f for f in self.fetches if not f.entity]
        if self.kind == "mutation":
            # Mutations run in document order: only the latest root fetch may take more fields.
            if roots and roots[-1].subgraph in route.resolvers and roots[-1] is self.fetches[-1]:
                return roots[-1]
            return self._new_fetch(route.resolvers[0], (), False, {f.id for f in self.fetches})
        for fetch in roots:
            if fetch.subgraph in route.resolvers:
                return fetch
        return self._new_fetch(route.resolvers[0], (), False, set())

    def _alias_conflicts(self, subgraph: str, type_name: str | None, selection: Selection) -> None:
        """Alias fields that share a response name across sibling fragments with types that
        differ in this subgraph (the API may merge them, a subgraph operation may not)."""
        for sel in selection.fields.values():
            child = (
                self.supergraph.field_type_name(subgraph, type_name, sel.name)
                if type_name
                else None
            )
            if sel.selection is not None and child is not None:
                self._alias_conflicts(subgraph, child, sel.selection)
        shapes: dict[str, str] = {}
        for fragment_type, fragment in selection.fragments.items():
            self._alias_conflicts(subgraph, fragment_type, fragment)
            fields = getattr(
                self.supergraph.subgraphs[subgraph].schema.get_type(fragment_type), "fields", {}
            )
            for key, sel in fragment.fields.items():
                if sel.name not in fields:
                    continue
                shape = _response_shape(fields[sel.name].type)
                if shapes.setdefault(key, shape) != shape:
                    sel.wire_key = f"{INTERNAL_PREFIX}{key}__{fragment_type}"

    def _root_parts(
        self, root: GraphQLObjectType, route: FieldRoute, nodes: list[FieldNode]
    ) -> list[tuple[Fetch, list[FieldNode]]]:
        """Where a root field goes: one subgraph, or, for a shared root field whose selection
        no one of them can answer, a part of its selection to each (merged in the answer)."""
        fetch = self._root_fetch(route)
        named = get_named_type(root.fields[route.name].type)
        sets = [n.selection_set for n in nodes if n.selection_set]
        if self.kind == "mutation" or len(route.resolvers) < 2 or not is_object_type(named):
            return [(fetch, nodes)]
        assert isinstance(named, GraphQLObjectType)
        fields = self._collect(named, sets)
        remaining = {
            k for k, f in fields.items() if not self._reaches(fetch.subgraph, named.name, f)
        }
        if not remaining:
            return [(fetch, nodes)]
        parts = [(fetch, [_narrowed(nodes[0], fields, set(fields) - remaining)])]
        for other in route.resolvers:
            mine = {k for k in remaining if self._reaches(other, named.name, fields[k])}
            if other != fetch.subgraph and mine:
                parts.append((self._root_fetch_in(other), [_narrowed(nodes[0], fields, mine)]))
                remaining -= mine
        if remaining:
            raise PlanningError(
                f"No subgraph resolving '{root.name}.{route.name}' reaches "
                + ", ".join(f"'{named.name}.{fields[k][0].name.value}'" for k in sorted(remaining))
            )
        return parts

    def _reaches(self, subgraph: str, type_name: str, nodes: list[FieldNode]) -> bool:
        name = nodes[0].name.value
        return name.startswith("__") or self.supergraph.reachable(subgraph, type_name, name)

    def _root_fetch_in(self, subgraph: str) -> Fetch:
        for fetch in self.fetches:
            if not fetch.entity and fetch.subgraph == subgraph:
                return fetch
        return self._new_fetch(subgraph, (), False, set())

    def _add_field(
        self,
        fetch: Fetch,
        selection: Selection,
        parent: GraphQLObjectType,
        key: str,
        nodes: list[FieldNode],
        path: Path,
        provided: Provided | None,
    ) -> None:
        name = nodes[0].name.value
        if name == "__typename":
            selection.add_typename()
            return
        field_def: GraphQLField = parent.fields[name]
        named = get_named_type(field_def.type)
        composite = not is_leaf_type(named)
        field_selection = selection.add(key, name, tuple(nodes[0].arguments or ()), composite)
        if not composite or field_selection.selection is None:
            return
        child_path = (*path, key, *([LIST] * _list_depth(field_def.type)))
        child_provided = self._provided(fetch.subgraph, parent.name, name, provided)
        subs = [n.selection_set for n in nodes if n.selection_set]
        self._plan_composite(
            fetch, field_selection.selection, named, subs, child_path, child_provided
        )

    def _provided(
        self, subgraph: str, parent: str, name: str, provided: Provided | None
    ) -> Provided | None:
        tree = provided.get(name) if provided is not None else None
        route = self.supergraph.route(parent, name)
        if route is not None and subgraph in route.provides:
            extra = _provided_tree(parse_field_set(route.provides[subgraph]))
            tree = {**(tree or {}), **extra}
        return tree

    def _plan_composite(
        self,
        fetch: Fetch,
        selection: Selection,
        named: GraphQLNamedType,
        subs: list[SelectionSetNode],
        path: Path,
        provided: Provided | None,
    ) -> None:
        if is_object_type(named):
            assert isinstance(named, GraphQLObjectType)
            self._plan_level(fetch, selection, named, subs, path, provided)
            return
        # Abstract: the runtime type decides which fields apply, so ask for it and split by type.
        selection.add_typename()
        returned = self.supergraph.possible_types(fetch.subgraph, named.name)
        for concrete in self.api.get_possible_types(named):  # type: ignore[arg-type]
            if concrete.name in returned:
                fragment = selection.fragment(concrete.name)
                self._plan_level(fetch, fragment, concrete, subs, path, provided)

    def _plan_level(
        self,
        fetch: Fetch,
        selection: Selection,
        object_type: GraphQLObjectType,
        subs: list[SelectionSetNode],
        path: Path,
        provided: Provided | None,
    ) -> None:
        fields = self._collect(object_type, subs)
        for key, nodes in fields.items():
            arguments = tuple(nodes[0].arguments or ())
            self.keys.claim(path, object_type.name, key, signature(nodes[0].name.value, arguments))
        remote = []
        for key, nodes in fields.items():
            if self._local(fetch.subgraph, object_type.name, nodes[0].name.value, provided):
                self._add_field(fetch, selection, object_type, key, nodes, path, provided)
            else:
                remote.append((key, nodes))
        for key, nodes in remote:
            entity, fragment = self._hop(
                fetch, selection, object_type.name, nodes[0].name.value, path
            )
            self._add_field(entity, fragment, object_type, key, nodes, path, None)

    def _local(self, subgraph: str, type_name: str, name: str, provided: Provided | None) -> bool:
        route = self.supergraph.route(type_name, name)
        if route is not None and subgraph in route.requires:
            # Its inputs come in a representation, even when this subgraph returned the object.
            return False
        if self.supergraph.resolves(subgraph, type_name, name):
            return True
        return (
            provided is not None
            and name in provided
            and self.supergraph.defines(subgraph, type_name, name)
        )

    def _hop(
        self, fetch: Fetch, selection: Selection, type_name: str, name: str, path: Path
    ) -> tuple[Fetch, Selection]:
        """Route `type_name.name` to another subgraph via `_entities`; return where to add it."""
        route = self.supergraph.route(type_name, name)
        if route is None or not route.resolvers:
            raise PlanningError(f"No subgraph resolves '{type_name}.{name}'")
        target, key = self._choose_target(fetch.subgraph, type_name, route, path)
        selection.add_typename()
        deps = {fetch.id}
        representations = self._internal(fetch, selection, type_name, key.selection, path, deps)
        if target in route.requires:
            required = parse_field_set(route.requires[target])
            representations += self._internal(fetch, selection, type_name, required, path, deps)
        entity = self._entity_fetch(target, path, deps)
        entity.add_representation(type_name, representations)
        return entity, entity.selection.fragment(type_name)

    def _choose_target(
        self, source: str, type_name: str, route: FieldRoute, path: Path
    ) -> tuple[str, EntityKey]:
        already = {f.subgraph for f in self.fetches if f.entity and f.path == path}
        candidates = sorted(route.resolvers, key=lambda s: (s not in already, s))
        for target in candidates:
            for key in self.supergraph.resolvable_keys(target, type_name):
                if self.supergraph.can_provide(source, type_name, key.selection):
                    return target, key
        for target in candidates:
            for key in self.supergraph.resolvable_keys(target, type_name):
                if all(self.supergraph.reachable(source, type_name, n) for n in _names(key)):
                    return target, key
        raise PlanningError(
            f"Cannot reach '{type_name}.{route.name}' from subgraph '{source}': no resolvable "
            f"@key on '{type_name}' in {', '.join(route.resolvers)} can be provided"
        )

    def _internal(
        self, fetch: Fetch, selection: Selection, type_name: str, field_set: SelectionSetNode,
        path: Path, deps: set[int],
    ) -> list[RepField]:  # fmt: skip
        """Fetch a key or @requires field set for the gateway's own use; return how to read it."""
        representations = []
        for node in field_set.selections:
            assert isinstance(node, FieldNode)
            name = node.name.value
            owner, owner_selection = fetch, selection
            if not self._local(fetch.subgraph, type_name, name, None):
                owner, owner_selection = self._hop(fetch, selection, type_name, name, path)
                deps.add(owner.id)
            representations.append(
                self._internal_field(owner, owner_selection, type_name, node, path, deps)
            )
        return representations

    def _internal_field(
        self, fetch: Fetch, selection: Selection, type_name: str, node: FieldNode, path: Path,
        deps: set[int],
    ) -> RepField:  # fmt: skip
        name = node.name.value
        key = self.keys.internal_key(path, type_name, name)
        field_selection = selection.add(key, name, (), composite=node.selection_set is not None)
        if node.selection_set is None or field_selection.selection is None:
            return RepField(name, field_selection)
        field_type = self._subgraph_field(fetch.subgraph, type_name, name).type
        child = get_named_type(field_type)
        if not is_object_type(child):
            raise PlanningError(
                f"Field sets through abstract '{type_name}.{name}' are not supported"
            )
        child_path = (*path, key, *([LIST] * _list_depth(field_type)))
        children = self._internal(
            fetch, field_selection.selection, child.name, node.selection_set, child_path, deps
        )
        return RepField(name, field_selection, tuple(children))

    def _subgraph_field(self, subgraph: str, type_name: str, name: str) -> GraphQLField:
        named = self.supergraph.subgraphs[subgraph].schema.get_type(type_name)
        return named.fields[name]  # type: ignore[union-attr]

    def _entity_fetch(self, subgraph: str, path: Path, deps: set[int]) -> Fetch:
        upstream = self._closure(deps)
        for fetch in self.fetches:
            same = fetch.entity and fetch.subgraph == subgraph and fetch.path == path
            # Reusing a fetch that our own inputs wait on would make a cycle.
            if same and fetch.id not in upstream:
                fetch.depends_on |= deps
                return fetch
        return self._new_fetch(subgraph, path, True, deps)

    def _closure(self, ids: set[int]) -> set[int]:
        seen: set[int] = set()
        stack = list(ids)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.fetches[current].depends_on)
        return seen


def _response_shape(field_type: Any) -> str:
    """What GraphQL requires equal under one response name: wrappers, and a leaf's type."""
    named = get_named_type(field_type)
    return str(field_type) if is_leaf_type(named) else str(field_type).replace(named.name, "*")


def _narrowed(node: FieldNode, fields: Mapping[str, list[FieldNode]], keys: set[str]) -> FieldNode:
    """The root field selecting only the sub-fields under `keys` (already collected)."""
    selections = tuple(n for key, nodes in fields.items() if key in keys for n in nodes)
    return FieldNode(
        alias=node.alias,
        name=node.name,
        arguments=node.arguments,
        directives=(),
        selection_set=SelectionSetNode(selections=selections),
    )


def _names(key: EntityKey) -> list[str]:
    return field_set_names(key.selection)
