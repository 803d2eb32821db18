"""Composition checks: key, @requires and @provides field sets, and reachability of every field.

Each failure is a CompositionError naming the subgraph, the type and the field, because the
person reading it has to find the line to change in one service among several.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import FieldNode, GraphQLError, SelectionSetNode, get_named_type

from estore.gateway.errors import CompositionError
from estore.gateway.sdl import Subgraph
from estore.gateway.supergraph import Supergraph, TypeRoute, field_set_names, parse_field_set

ROOT_TYPES = frozenset({"Query", "Mutation", "Subscription"})


def _parse(subgraph: str, where: str, fields: str) -> SelectionSetNode:
    try:
        return parse_field_set(fields)
    except GraphQLError as error:
        raise CompositionError(
            f"Subgraph '{subgraph}': {where} has an invalid field set \"{fields}\": {error.message}"
        ) from error


def _missing_field(sub: Subgraph, type_name: str, selection: SelectionSetNode) -> str | None:
    """The first field of `selection` that `type_name` in this subgraph does not define."""
    named = sub.schema.get_type(type_name)
    fields = getattr(named, "fields", None) or {}
    for node in selection.selections:
        if not isinstance(node, FieldNode):
            return f"{type_name}.<fragment>"
        name = node.name.value
        if name not in fields:
            return f"{type_name}.{name}"
        if node.selection_set:
            child = get_named_type(fields[name].type).name
            missing = _missing_field(sub, child, node.selection_set)
            if missing:
                return missing
    return None


def check_directives(subgraphs: Mapping[str, Subgraph], types: Mapping[str, TypeRoute]) -> None:
    for name, sub in subgraphs.items():
        for type_name, sub_type in sub.types.items():
            for key in sub_type.keys:
                where = f"@key(fields: \"{key.fields}\") on '{type_name}'"
                missing = _missing_field(sub, type_name, _parse(name, where, key.fields))
                if missing:
                    raise CompositionError(
                        f"Subgraph '{name}': {where} names field '{missing}', "
                        "which the subgraph does not define"
                    )
            for field_name, sub_field in sub_type.fields.items():
                coordinate = f"'{type_name}.{field_name}'"
                if sub_field.requires:
                    _check_requires(sub, type_name, coordinate, sub_field.requires)
                if sub_field.provides:
                    target = sub.schema.get_type(type_name).fields[field_name].type  # type: ignore[union-attr]
                    _check_provides(
                        sub, get_named_type(target).name, coordinate, sub_field.provides, types
                    )


def _check_requires(sub: Subgraph, type_name: str, coordinate: str, fields: str) -> None:
    where = f'@requires(fields: "{fields}") on {coordinate}'
    selection = _parse(sub.name, where, fields)
    missing = _missing_field(sub, type_name, selection)
    if missing:
        raise CompositionError(
            f"Subgraph '{sub.name}': {where} names field '{missing}', which the subgraph does "
            "not define (declare it with @external)"
        )
    for required in field_set_names(selection):
        if not sub.types[type_name].fields[required].external:
            raise CompositionError(
                f"Subgraph '{sub.name}': {where} names '{type_name}.{required}', "
                "which is not marked @external"
            )


def _check_provides(
    sub: Subgraph, target: str, coordinate: str, fields: str, types: Mapping[str, TypeRoute]
) -> None:
    where = f'@provides(fields: "{fields}") on {coordinate}'
    selection = _parse(sub.name, where, fields)
    missing = _missing_field(sub, target, selection)
    if missing:
        raise CompositionError(
            f"Subgraph '{sub.name}': {where} names field '{missing}', which the subgraph does "
            "not define (declare it with @external)"
        )
    route = types[target]
    for provided in field_set_names(selection):
        if provided in route.key_field_names(sub.name):
            continue
        if not sub.types[target].fields[provided].external:
            raise CompositionError(
                f"Subgraph '{sub.name}': {where} names '{target}.{provided}', "
                "which is not marked @external"
            )
        field_route = route.fields[provided]
        for owner in field_route.resolvers:
            if owner not in field_route.shareable_in:
                raise CompositionError(
                    f"Subgraph '{sub.name}': {where} provides '{target}.{provided}', which "
                    f"subgraph '{owner}' resolves without marking it @shareable"
                )


def check_satisfiable(supergraph: Supergraph) -> None:
    """Every field of an object type must be reachable from each subgraph that returns it."""
    api_types = supergraph.api_schema.type_map
    for sub_name, sub in supergraph.subgraphs.items():
        for type_name, sub_type in sub.types.items():
            if type_name in ROOT_TYPES or sub_type.kind != "object_type_definition":
                continue
            api_type = api_types.get(type_name)
            for field_name in getattr(api_type, "fields", None) or {}:
                if supergraph.resolves(sub_name, type_name, field_name):
                    continue
                if not _only_under_shared_roots(supergraph, sub_name, type_name, field_name):
                    _check_hop(supergraph, sub_name, type_name, field_name)


def _only_under_shared_roots(
    supergraph: Supergraph, source: str, type_name: str, field_name: str
) -> bool:
    """Whether `source` returns the keyless `type_name` only from shared Query fields that
    another subgraph answers `field_name` under: the planner asks that one for it."""
    if supergraph.resolvable_keys(source, type_name):
        return False
    returning = [
        (parent, name)
        for parent, sub_type in supergraph.subgraphs[source].types.items()
        for name in sub_type.fields
        if supergraph.field_type_name(source, parent, name) == type_name
    ]
    for parent, name in returning:
        route = supergraph.route(parent, name)
        others = [s for s in (route.resolvers if route else ()) if s != source]
        if parent != "Query" or not any(
            supergraph.resolves(s, type_name, field_name) for s in others
        ):
            return False
    return bool(returning)


def _check_hop(supergraph: Supergraph, source: str, type_name: str, field_name: str) -> None:
    if supergraph.reachable(source, type_name, field_name):
        return
    route = supergraph.route(type_name, field_name)
    owners = " and ".join(f"'{s}'" for s in (route.resolvers if route else ())) or "no subgraph"
    raise CompositionError(
        f"Field '{type_name}.{field_name}' cannot be reached from subgraph '{source}', which "
        f"returns '{type_name}': it is resolved by {owners}, and none of them has a resolvable "
        f"@key on '{type_name}' whose fields '{source}' can obtain"
    )
