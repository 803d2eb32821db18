"""Apollo supergraph SDL reader: the join spec (v0.3 to v0.5) in, subgraph SDLs, URLs and API out.

A supergraph as `@apollo/composition` or rover writes it records, per type and field, which
subgraphs define it (`@join__type`, `@join__field`, ...) and where each subgraph listens
(`@join__graph(name:, url:)`). We extract each subgraph's SDL from it, as Apollo's gateway does,
so the routing map is built by the same code as for subgraphs we compose ourselves. The API
schema is the supergraph itself minus the specs' machinery and every `@inaccessible` element,
which is what Apollo serves.

Anything in the supergraph this gateway cannot yet plan or execute exactly as Apollo does is
refused here, naming the directive and where it is used: a gateway that starts must answer
every query right.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    parse,
    print_ast,
    value_from_ast_untyped,
)

from estore.gateway.errors import CompositionError
from estore.gateway.limits import CostDirectives, ListSize

SPECS = "https://specs.apollo.dev/"
JOIN_VERSIONS = ("v0.3", "v0.4", "v0.5")
# Features that change nothing about how a query is planned or answered by this gateway.
HARMLESS_FEATURES = frozenset({"link", "join", "inaccessible", "tag"})
# Features this gateway honours, and the versions of them it reads.
SERVED_FEATURES = {"cost": ("v0.1",)}
KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})
SUBGRAPH_HEADER = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: '
    '["@key", "@external", "@requires", "@provides", "@shareable", "@override"])'
)


class UnsupportedSupergraph(CompositionError):
    """The supergraph uses a feature this gateway does not serve; the message names it."""


@dataclass(frozen=True)
class ApolloSupergraph:
    """What a supergraph SDL holds: each subgraph's SDL and URL, and the client-facing schema."""

    sdls: dict[str, str]
    urls: dict[str, str]
    api_schema: GraphQLSchema
    costs: CostDirectives


@dataclass(frozen=True)
class _Feature:
    """One `@link`ed spec: its name, version and the names its directives go by here."""

    name: str
    version: str
    prefix: str
    imports: dict[str, str]  # local name -> the spec's own directive name
    purpose: str | None

    def owns(self, directive: str) -> bool:
        return (
            directive.startswith(f"{self.prefix}__")
            or directive in self.imports
            or (directive == self.prefix)
        )

    def canonical(self, directive: str) -> str:
        if directive in self.imports:
            return self.imports[directive]
        return directive.removeprefix(f"{self.prefix}__")


def _args(node: DirectiveNode) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value) for a in node.arguments or ()}


def _read_feature(args: Mapping[str, Any]) -> _Feature | None:
    url = str(args.get("url") or "")
    if not url.startswith(SPECS):
        return None
    name, _, version = url.removeprefix(SPECS).rstrip("/").partition("/")
    prefix = str(args.get("as") or name)
    imports: dict[str, str] = {}
    for item in args.get("import") or ():
        original = item if isinstance(item, str) else str(item.get("name", ""))
        alias = original if isinstance(item, str) else str(item.get("as") or original)
        if original.startswith("@"):
            imports[alias.lstrip("@")] = original.lstrip("@")
    purpose = args.get("for")
    return _Feature(name, version, prefix, imports, str(purpose) if purpose else None)


class _Reader:
    def __init__(self, document: DocumentNode) -> None:
        self.document = document
        self.features = self._features()
        self._check_features()
        join = self.features["join"]
        self.join_prefix = join.prefix
        self.types: dict[str, TypeDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, TypeDefinitionNode)
        }
        self.graphs, self.urls = self._graphs()

    def _features(self) -> dict[str, _Feature]:
        features: dict[str, _Feature] = {}
        for definition in self.document.definitions:
            if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                for directive in definition.directives or ():
                    if directive.name.value in ("link", "core"):
                        feature = _read_feature(_args(directive))
                        if feature is not None:
                            features[feature.name] = feature
        return features

    def _check_features(self) -> None:
        join = self.features.get("join")
        if join is None:
            raise CompositionError(
                "not an Apollo supergraph: no @link to https://specs.apollo.dev/join/"
            )
        if join.version not in JOIN_VERSIONS:
            raise UnsupportedSupergraph(
                f"join spec {join.version} is not supported (only {', '.join(JOIN_VERSIONS)}, "
                "as @apollo/composition 2 writes them): recompose the supergraph with it"
            )
        for feature in self.features.values():
            if feature.version in SERVED_FEATURES.get(feature.name, ()):
                continue
            if feature.name not in HARMLESS_FEATURES:
                used = self._first_use(feature)
                if used is not None or feature.purpose in ("SECURITY", "EXECUTION"):
                    where = f" on {used[1]}" if used else ""
                    directive = used[0] if used else f"{feature.name}/{feature.version}"
                    raise UnsupportedSupergraph(
                        f"@{directive}{where} is not supported by this gateway "
                        f"({SPECS}{feature.name}/{feature.version})"
                    )

    def _first_use(self, feature: _Feature) -> tuple[str, str] | None:
        for where, directive in _directive_uses(self.document):
            if feature.owns(directive.name.value):
                return feature.canonical(directive.name.value), where
        return None

    def joins(self, node: Any, name: str) -> list[dict[str, Any]]:
        wanted = f"{self.join_prefix}__{name}"
        return [_args(d) for d in node.directives or () if d.name.value == wanted]

    def _graphs(self) -> tuple[dict[str, str], dict[str, str]]:
        enum = self.types.get(f"{self.join_prefix}__Graph")
        if not isinstance(enum, EnumTypeDefinitionNode):
            raise CompositionError(f"the supergraph defines no enum {self.join_prefix}__Graph")
        graphs, urls = {}, {}
        for value in enum.values or ():
            (graph,) = self.joins(value, "graph") or [{}]
            name, url = graph.get("name"), graph.get("url")
            if not name or not url:
                raise CompositionError(
                    f"join__Graph.{value.name.value} has no @join__graph(name:, url:)"
                )
            graphs[value.name.value], urls[str(name)] = str(name), str(url)
        return graphs, urls

    def is_machinery(self, name: str) -> bool:
        return any(f.owns(name) for f in self.features.values()) or name in ("link", "core")


def _directive_uses(document: DocumentNode) -> Iterable[tuple[str, DirectiveNode]]:
    """Every directive applied in the document, with a readable place ("type 'T'", ...)."""
    for definition in document.definitions:
        name = getattr(getattr(definition, "name", None), "value", "schema")
        place = f"type '{name}'" if isinstance(definition, TypeDefinitionNode) else "the schema"
        for directive in getattr(definition, "directives", None) or ():
            yield place, directive
        for child in _children(definition):
            for directive in child.directives or ():
                yield f"'{name}.{child.name.value}'", directive
            for argument in getattr(child, "arguments", None) or ():
                for directive in argument.directives or ():
                    yield f"'{name}.{child.name.value}({argument.name.value}:)'", directive


def _children(definition: Any) -> tuple[Any, ...]:
    return tuple(getattr(definition, "fields", None) or getattr(definition, "values", None) or ())


def read_supergraph_sdl(text: str) -> ApolloSupergraph:
    """Read a supergraph SDL; CompositionError (UnsupportedSupergraph) when it cannot be served."""
    try:
        document = parse(text)
    except GraphQLError as error:
        raise CompositionError(f"the supergraph SDL does not parse: {error.message}") from error
    reader = _Reader(document)
    _Guard(reader).check()
    sdls = {name: _Extractor(reader, graph).sdl() for graph, name in reader.graphs.items()}
    return ApolloSupergraph(sdls, reader.urls, _api_schema(reader), _cost_directives(reader))


class _Guard:
    """Refuses join metadata that the planner does not (yet) honour exactly as Apollo does."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def check(self) -> None:
        types = {
            name: node
            for name, node in self.reader.types.items()
            if not name.startswith(f"{self.reader.join_prefix}__")
        }
        # The cause first: an @interfaceObject also makes keyed interfaces and fields that no
        # subgraph resolves, which would be refused too, but under a name nobody wrote.
        for type_name, node in types.items():
            for join in self.reader.joins(node, "type"):
                if join.get("isInterfaceObject"):
                    self._refuse("@interfaceObject", f"type '{type_name}'", join)
        for type_name, node in types.items():
            for join in self.reader.joins(node, "type"):
                if join.get("key") and isinstance(node, InterfaceTypeDefinitionNode):
                    self._refuse("@key", f"interface '{type_name}'", join)
            for join in self.reader.joins(node, "directive"):
                self._refuse(f"@{join.get('name')}", f"type '{type_name}'")
        for type_name, node in types.items():
            for child in _children(node):
                self._check_field(type_name, child)
                self._check_cost_place(type_name, node, child)

    def _check_cost_place(self, type_name: str, parent: Any, node: Any) -> None:
        """@cost on arguments and input fields is not counted (yet): refuse it."""
        cost = self.reader.features.get("cost")
        if cost is None:
            return
        where = f"'{type_name}.{node.name.value}'"
        coordinate = f"{type_name}.{node.name.value}"
        if isinstance(parent, InputObjectTypeDefinitionNode):
            if any(cost.owns(d.name.value) for d in node.directives or ()):
                self._refuse("@cost on an input field", where)
        for argument in getattr(node, "arguments", None) or ():
            if any(cost.owns(d.name.value) for d in argument.directives or ()):
                self._refuse("@cost on an argument", f"'{coordinate}({argument.name.value}:)'")

    def _check_field(self, type_name: str, node: Any) -> None:
        where = f"'{type_name}.{node.name.value}'"
        for join in self.reader.joins(node, "directive"):
            self._refuse(f"@{join.get('name')}", where)
        for join in self.reader.joins(node, "field"):
            if "graph" not in join:
                self._refuse("a field no subgraph resolves (@interfaceObject)", where)
            if join.get("overrideLabel"):
                self._refuse("@override(label:)", where, join)
            if join.get("contextArguments"):
                self._refuse("@fromContext", where, join)
            for directive in ("requires", "provides"):
                if join.get(directive):
                    self._check_field_set(directive, str(join[directive]), where, join)
            if join.get("type") and not _same_but_nullability(join["type"], node.type):
                self._refuse(
                    f"a shared field whose type differs between subgraphs ({join['type']})",
                    where,
                    join,
                )

    def _check_field_set(self, directive: str, fields: str, where: str, join: dict) -> None:
        try:
            selection = parse("{" + fields + "}", no_location=True)
        except GraphQLError:
            message = f"@{directive}(fields: {fields!r}) on {where} does not parse"
            raise CompositionError(message) from None
        text = print_ast(selection)
        if "..." in text:
            self._refuse(f"@{directive} with a type condition ({fields})", where, join)
        if "(" in text:
            self._refuse(f"@{directive} on fields with arguments ({fields})", where, join)

    def _refuse(self, what: str, where: str, join: Mapping[str, Any] | None = None) -> None:
        graph = join.get("graph") if join else None
        subgraph = f" (subgraph '{self.reader.graphs.get(str(graph), graph)}')" if graph else ""
        raise UnsupportedSupergraph(f"{what} on {where}{subgraph} is not supported by this gateway")


def _same_but_nullability(written: str, node: Any) -> bool:
    return written.replace("!", "") == print_ast(node).replace("!", "")


class _Extractor:
    """One subgraph's SDL, rebuilt from the join directives (federation 2 syntax)."""

    def __init__(self, reader: _Reader, graph: str) -> None:
        self.reader = reader
        self.graph = graph

    def sdl(self) -> str:
        parts = [SUBGRAPH_HEADER]
        for type_name, node in self.reader.types.items():
            joins = [j for j in self.reader.joins(node, "type") if j.get("graph") == self.graph]
            text = self._type(type_name, node, joins) if joins else None
            if text is not None:
                parts.append(text)
        return "\n\n".join(parts) + "\n"

    def _type(self, type_name: str, node: Any, joins: list[dict[str, Any]]) -> str | None:
        """The type's definition in this subgraph (None: a root type it adds no field to)."""
        keys = "".join(_key_directive(j) for j in joins if j.get("key"))
        if isinstance(node, ScalarTypeDefinitionNode):
            return f"scalar {type_name}"
        if isinstance(node, UnionTypeDefinitionNode):
            return f"union {type_name} = {' | '.join(self._members(node))}"
        if isinstance(node, EnumTypeDefinitionNode):
            return f"enum {type_name} {{ {' '.join(self._enum_values(node))} }}"
        if isinstance(node, InputObjectTypeDefinitionNode):
            fields = [self._input_field(f) for f in node.fields or () if self._in_graph(f)]
            return f"input {type_name} {{\n  " + "\n  ".join(fields) + "\n}"
        kind = "interface" if isinstance(node, InterfaceTypeDefinitionNode) else "type"
        implements = self._implements(node)
        header = f"{kind} {type_name}{implements}{keys}"
        fields = [self._field(f) for f in node.fields or () if self._in_graph(f)]
        if not fields:
            return None
        return header + " {\n  " + "\n  ".join(fields) + "\n}"

    def _in_graph(self, node: Any) -> bool:
        joins = self.reader.joins(node, "field")
        return not joins or any(j.get("graph") == self.graph for j in joins)

    def _members(self, node: UnionTypeDefinitionNode) -> list[str]:
        joins = self.reader.joins(node, "unionMember")
        if not joins:
            return [m.name.value for m in node.types or ()]
        return [str(j["member"]) for j in joins if j.get("graph") == self.graph]

    def _enum_values(self, node: EnumTypeDefinitionNode) -> list[str]:
        values = []
        for value in node.values or ():
            joins = self.reader.joins(value, "enumValue")
            if not joins or any(j.get("graph") == self.graph for j in joins):
                values.append(value.name.value)
        return values

    def _implements(self, node: ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode) -> str:
        joins = self.reader.joins(node, "implements")
        if joins:
            names = [str(j["interface"]) for j in joins if j.get("graph") == self.graph]
        else:
            names = [i.name.value for i in node.interfaces or ()]
        return f" implements {' & '.join(names)}" if names else ""

    def _field(self, node: FieldDefinitionNode) -> str:
        joins = self.reader.joins(node, "field")
        mine = next((j for j in joins if j.get("graph") == self.graph), {})
        arguments = ", ".join(_input_value(a) for a in node.arguments or ())
        text = node.name.value + (f"({arguments})" if arguments else "")
        text += f": {mine.get('type') or print_ast(node.type)}"
        if mine.get("external"):
            return text + " @external"
        # Apollo validated sharing when it composed; every resolving subgraph may answer it.
        text += " @shareable"
        for directive in ("requires", "provides"):
            if mine.get(directive):
                text += f" @{directive}(fields: {_string(mine[directive])})"
        if mine.get("override"):
            text += f" @override(from: {_string(mine['override'])})"
        return text

    def _input_field(self, node: Any) -> str:
        joins = self.reader.joins(node, "field")
        mine = next((j for j in joins if j.get("graph") == self.graph), {})
        return _input_value(node, mine.get("type"))


def _key_directive(join: Mapping[str, Any]) -> str:
    resolvable = "" if join.get("resolvable", True) else ", resolvable: false"
    return f" @key(fields: {_string(join['key'])}{resolvable})"


def _string(value: Any) -> str:
    """A GraphQL string literal (JSON's escapes are GraphQL's)."""
    return json.dumps(str(value))


def _input_value(node: Any, written_type: str | None = None) -> str:
    text = f"{node.name.value}: {written_type or print_ast(node.type)}"
    if node.default_value is not None:
        text += f" = {print_ast(node.default_value)}"
    return text


def _api_schema(reader: _Reader) -> GraphQLSchema:
    """The supergraph as clients see it: no spec machinery, nothing @inaccessible."""
    inaccessible = reader.features.get("inaccessible")

    def visible(node: Any) -> bool:
        directives = node.directives or ()
        return inaccessible is None or not any(inaccessible.owns(d.name.value) for d in directives)

    removed_types = {
        n for n, t in reader.types.items() if not visible(t) or _is_machinery_type(n, reader)
    }
    definitions: list[Any] = []
    for definition in reader.document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if not reader.is_machinery(definition.name.value):
                definitions.append(definition)
            continue
        if isinstance(definition, SchemaDefinitionNode):
            definitions.append(dataclasses.replace(definition, directives=()))
            continue
        if not isinstance(definition, TypeDefinitionNode):
            continue
        if definition.name.value in removed_types:
            continue
        definitions.append(_api_type(definition, visible, removed_types, reader))
    try:
        return build_ast_schema(DocumentNode(definitions=tuple(definitions)))
    except (GraphQLError, TypeError) as error:
        raise CompositionError(f"the supergraph's API schema is invalid: {error}") from error


def _is_machinery_type(name: str, reader: _Reader) -> bool:
    return "__" in name and reader.is_machinery(name)


def _kept(node: Any, reader: _Reader) -> tuple[Any, ...]:
    return tuple(d for d in node.directives or () if not reader.is_machinery(d.name.value))


def _api_type(definition: Any, visible: Any, removed: set[str], reader: _Reader) -> Any:
    changes: dict[str, Any] = {"directives": _kept(definition, reader)}
    if isinstance(definition, UnionTypeDefinitionNode):
        changes["types"] = tuple(m for m in definition.types or () if m.name.value not in removed)
    if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
        changes["interfaces"] = tuple(
            i for i in definition.interfaces or () if i.name.value not in removed
        )
    if isinstance(definition, EnumTypeDefinitionNode):
        changes["values"] = tuple(
            dataclasses.replace(v, directives=_kept(v, reader))
            for v in definition.values or ()
            if visible(v)
        )
    if isinstance(
        definition,
        ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode | InputObjectTypeDefinitionNode,
    ):
        changes["fields"] = tuple(
            _api_field(f, visible, reader)
            for f in definition.fields or ()
            if visible(f) and _type_name(f.type) not in removed
        )
    return dataclasses.replace(definition, **changes)


def _api_field(node: Any, visible: Any, reader: _Reader) -> Any:
    changes: dict[str, Any] = {"directives": _kept(node, reader)}
    if "arguments" in type(node).keys:
        changes["arguments"] = tuple(
            dataclasses.replace(a, directives=_kept(a, reader))
            for a in node.arguments or ()
            if visible(a)
        )
    return dataclasses.replace(node, **changes)


def _type_name(node: Any) -> str:
    while not isinstance(node, NamedTypeNode):
        node = node.type
    return node.name.value


def _cost_directives(reader: _Reader) -> CostDirectives:
    """The demand-control directives (`@cost`, `@listSize`) by type and field."""
    feature = reader.features.get("cost")
    if feature is None:
        return CostDirectives()
    field_weights: dict[tuple[str, str], int] = {}
    type_weights: dict[str, int] = {}
    list_sizes: dict[tuple[str, str], ListSize] = {}
    for type_name, node in reader.types.items():
        for name, args in _owned(feature, node):
            if name == "cost":
                type_weights[type_name] = int(args["weight"])
        for child in _children(node):
            for name, args in _owned(feature, child):
                key = (type_name, child.name.value)
                if name == "cost":
                    field_weights[key] = int(args["weight"])
                elif name == "listSize":
                    list_sizes[key] = ListSize(
                        assumed=args.get("assumedSize"),
                        slicing=tuple(args.get("slicingArguments") or ()),
                        sized_fields=tuple(args.get("sizedFields") or ()),
                        require_one=bool(args.get("requireOneSlicingArgument", True)),
                    )
    return CostDirectives(field_weights, type_weights, list_sizes)


def _owned(feature: _Feature, node: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        (feature.canonical(d.name.value), _args(d))
        for d in node.directives or ()
        if feature.owns(d.name.value)
    ]
