"""Composition: subgraph SDLs in, the API schema and the routing map (a Supergraph) out.

Follows Apollo Federation 2 rules where they matter for routing: a field resolved by several
subgraphs must be @shareable in each (key fields are shareable by nature), @override moves a
field away from the subgraph it names, and @external only declares what another subgraph owns.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import ListTypeNode, NonNullTypeNode, TypeNode, print_ast

from estore.gateway.api_schema import build_api_schema
from estore.gateway.checks import check_directives, check_satisfiable
from estore.gateway.errors import CompositionError
from estore.gateway.join import UnsupportedSupergraph, read_supergraph_sdl
from estore.gateway.sdl import Subgraph, SubgraphField, SubgraphType, read_subgraph
from estore.gateway.supergraph import EntityKey, FieldRoute, Supergraph, TypeRoute

Definitions = list[tuple[str, SubgraphType]]
FIELDED_KINDS = ("object_type_definition", "interface_type_definition")


def compose(sdls: Mapping[str, str]) -> Supergraph:
    """Compose subgraphs given as {name: SDL}; raise CompositionError when they do not fit."""
    if not sdls:
        raise CompositionError("No subgraphs to compose")
    subgraphs = {name: read_subgraph(name, sdl) for name, sdl in sdls.items()}
    _refuse_unserved(subgraphs)
    definitions = _group_types(subgraphs)
    types = _route_types(subgraphs, definitions)
    supergraph = Supergraph(build_api_schema(definitions, types), subgraphs, types)
    check_satisfiable(supergraph)
    return supergraph


def from_supergraph_sdl(text: str) -> Supergraph:
    """Route an Apollo supergraph SDL: its subgraphs, its URLs and its API schema as written.

    Raises CompositionError (UnsupportedSupergraph when it uses what we do not serve).
    """
    apollo = read_supergraph_sdl(text)
    subgraphs = {name: read_subgraph(name, sdl) for name, sdl in apollo.sdls.items()}
    types = _route_types(subgraphs, _group_types(subgraphs))
    supergraph = Supergraph(apollo.api_schema, subgraphs, types, apollo.urls, apollo.costs)
    check_satisfiable(supergraph)
    return supergraph


def _refuse_unserved(subgraphs: Mapping[str, Subgraph]) -> None:
    """Refuse the first use of a feature we do not serve; an @interfaceObject first, since it
    is the cause of what else (a keyed interface) its graph would be refused for."""
    findings = [finding for sub in subgraphs.values() for finding in sub.unserved]
    if findings:
        findings.sort(key=lambda finding: "@interfaceObject" not in finding)
        raise UnsupportedSupergraph(findings[0])


def _route_types(
    subgraphs: Mapping[str, Subgraph], definitions: Mapping[str, Definitions]
) -> dict[str, TypeRoute]:
    types = {name: _route_type(name, defs) for name, defs in definitions.items()}
    check_directives(subgraphs, types)
    return types


def _group_types(subgraphs: Mapping[str, Subgraph]) -> dict[str, Definitions]:
    grouped: dict[str, Definitions] = {}
    for name in sorted(subgraphs):
        for type_name, sub_type in subgraphs[name].types.items():
            grouped.setdefault(type_name, []).append((name, sub_type))
    for type_name, defs in grouped.items():
        kinds = {t.kind for _, t in defs}
        if len(kinds) > 1:
            where = ", ".join(f"{t.kind.replace('_type_definition', '')} in '{s}'" for s, t in defs)
            raise CompositionError(f"Type '{type_name}' has different kinds: {where}")
    return grouped


def _route_type(type_name: str, defs: Definitions) -> TypeRoute:
    route = TypeRoute(
        name=type_name,
        kind=defs[0][1].kind,
        subgraphs=tuple(s for s, _ in defs),
        keys={
            s: tuple(EntityKey(k.fields, k.resolvable) for k in t.keys) for s, t in defs if t.keys
        },
    )
    if route.kind not in FIELDED_KINDS:
        return route
    field_defs: dict[str, list[tuple[str, SubgraphField]]] = {}
    for subgraph, sub_type in defs:
        for name, sub_field in sub_type.fields.items():
            field_defs.setdefault(name, []).append((subgraph, sub_field))
    for name, fdefs in field_defs.items():
        route.fields[name] = _route_field(route, name, fdefs)
    return route


def _route_field(
    type_route: TypeRoute, name: str, defs: list[tuple[str, SubgraphField]]
) -> FieldRoute:
    overridden = {f.override_from for _, f in defs if f.override_from}
    route = FieldRoute(
        parent=type_route.name,
        name=name,
        defined_in=tuple(s for s, _ in defs),
        resolvers=tuple(s for s, f in defs if not f.external and s not in overridden),
        external_in=frozenset(s for s, f in defs if f.external),
        shareable_in=frozenset(s for s, f in defs if f.shareable),
        requires={s: f.requires for s, f in defs if f.requires},
        provides={s: f.provides for s, f in defs if f.provides},
        overrides={s: f.override_from for s, f in defs if f.override_from},
    )
    _check_types_agree(type_route.name, name, defs)
    if type_route.kind == "object_type_definition":
        _check_sharing(type_route, route)
    if defs and not route.resolvers and type_route.kind == "object_type_definition":
        where = ", ".join(f"'{s}'" for s, _ in defs)
        raise CompositionError(
            f"Field '{type_route.name}.{name}' is @external in subgraph(s) {where} "
            "but no subgraph resolves it"
        )
    return route


def _check_sharing(type_route: TypeRoute, route: FieldRoute) -> None:
    if len(route.resolvers) < 2:
        return
    unshared = [
        s
        for s in route.resolvers
        if s not in route.shareable_in and route.name not in type_route.key_field_names(s)
    ]
    if unshared:
        resolvers = " and ".join(f"'{s}'" for s in route.resolvers)
        culprits = ", ".join(f"'{s}'" for s in unshared)
        raise CompositionError(
            f"Non-shareable field '{route.parent}.{route.name}' is resolved from subgraphs "
            f"{resolvers}: it is not marked @shareable in subgraph(s) {culprits}"
        )


def type_shape(node: TypeNode) -> str:
    """The type without nullability: federation lets subgraphs differ only in that."""
    if isinstance(node, NonNullTypeNode):
        return type_shape(node.type)
    if isinstance(node, ListTypeNode):
        return f"[{type_shape(node.type)}]"
    return print_ast(node)


def _check_types_agree(type_name: str, name: str, defs: list[tuple[str, SubgraphField]]) -> None:
    owned = [(s, f) for s, f in defs if not f.external]
    shapes = {type_shape(f.node.type) for _, f in owned}
    if len(shapes) > 1:
        where = ", ".join(f"'{print_ast(f.node.type)}' in '{s}'" for s, f in owned)
        raise CompositionError(f"Field '{type_name}.{name}' has incompatible types: {where}")
    if not owned:
        return
    owner, owner_field = owned[0]
    expected = type_shape(owner_field.node.type)
    for subgraph, sub_field in defs:
        if sub_field.external and type_shape(sub_field.node.type) != expected:
            raise CompositionError(
                f"Field '{type_name}.{name}' is @external in subgraph '{subgraph}' with type "
                f"'{print_ast(sub_field.node.type)}' but subgraph '{owner}' defines it as "
                f"'{print_ast(owner_field.node.type)}'"
            )
