"""Subgraph SDL reader: federation metadata out, plain GraphQL type definitions left behind.

A federation SDL (`_service { sdl }`) uses `@link`-imported directives it never defines, so
graphql-core cannot build it as is. We resolve the directive names that `@link` imports (with
their renames and the `federation__` namespace), lift the federation directives into plain
data, and keep an SDL without them that graphql-core builds and validates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    Node,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_ast_schema,
    parse,
    value_from_ast_untyped,
)

from estore.gateway.errors import CompositionError

FEDERATION_SPEC = "specs.apollo.dev/federation/"
LINK_SPEC = "specs.apollo.dev/link/"
FEDERATION_DIRECTIVES = frozenset(
    "key requires provides external shareable override inaccessible extends tag "
    "composeDirective interfaceObject authenticated requiresScopes policy cost listSize "
    "context fromContext".split()
)
# Types the federation spec adds to every subgraph; none of them reaches the client.
# Federation directives whose meaning this gateway does not implement: a subgraph using one is
# refused, never served as if the directive were not there.
UNSERVED_DIRECTIVES = frozenset(
    "interfaceObject context fromContext cost listSize authenticated requiresScopes policy".split()
)
INTERNAL_TYPES = frozenset({"_Any", "_Entity", "_Service", "_FieldSet", "FieldSet"})
INTERNAL_ROOT_FIELDS = frozenset({"_entities", "_service"})
INTERNAL_PREFIXES = ("link__", "federation__")
ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


@dataclass(frozen=True)
class KeyDirective:
    fields: str
    resolvable: bool = True


@dataclass
class SubgraphField:
    name: str
    node: FieldDefinitionNode
    external: bool = False
    shareable: bool = False
    inaccessible: bool = False
    requires: str | None = None
    provides: str | None = None
    override_from: str | None = None


@dataclass
class SubgraphType:
    name: str
    node: TypeDefinitionNode
    keys: list[KeyDirective] = field(default_factory=list)
    shareable: bool = False
    inaccessible: bool = False
    fields: dict[str, SubgraphField] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.node.kind


@dataclass
class Subgraph:
    """One subgraph as the gateway sees it: its types, their federation metadata, its schema."""

    name: str
    types: dict[str, SubgraphType]
    schema: GraphQLSchema
    fed2: bool
    # Uses of federation features this gateway does not serve, each a readable sentence.
    unserved: list[str] = field(default_factory=list)


def _replace(node: Node, **changes: Any) -> Any:
    return dataclasses.replace(node, **changes)  # type: ignore[type-var]


def _directive_args(node: DirectiveNode) -> dict[str, Any]:
    return {arg.name.value: value_from_ast_untyped(arg.value) for arg in node.arguments or ()}


class _Names:
    """Maps directive names as written in one SDL to federation's canonical names."""

    def __init__(self, document: DocumentNode) -> None:
        self.fed2 = False
        self.local: dict[str, str] = {}
        self.unserved: list[str] = []
        self.link_names = {"link"}
        for definition in document.definitions:
            if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                for directive in definition.directives or ():
                    if directive.name.value == "link":
                        self._read_link(_directive_args(directive))
        if not self.fed2:
            self.local = {name: name for name in FEDERATION_DIRECTIVES}

    def _read_link(self, args: dict[str, Any]) -> None:
        url = str(args.get("url", ""))
        if LINK_SPEC in url:
            self.link_names.add(str(args.get("as") or "link"))
            return
        if FEDERATION_SPEC not in url:
            return
        self.fed2 = True
        prefix = str(args.get("as") or "federation")
        for name in FEDERATION_DIRECTIVES:
            self.local[f"{prefix}__{name}"] = name
        for item in args.get("import") or ():
            original, alias = (item, item) if isinstance(item, str) else (item["name"], None)
            alias = alias or (item.get("as") if isinstance(item, dict) else None) or original
            if original.startswith("@") and original[1:] in FEDERATION_DIRECTIVES:
                self.local[alias.lstrip("@")] = original[1:]

    def canonical(self, name: str) -> str | None:
        return self.local.get(name)

    def is_spec(self, name: str) -> bool:
        return name in self.local or name in self.link_names


def _fed_directives(nodes: Iterable[DirectiveNode], names: _Names) -> list[tuple[str, dict]]:
    found = []
    for node in nodes:
        canonical = names.canonical(node.name.value)
        if canonical:
            found.append((canonical, _directive_args(node)))
    return found


def _strip(nodes: Iterable[DirectiveNode] | None, names: _Names) -> tuple[DirectiveNode, ...]:
    return tuple(d for d in nodes or () if not names.is_spec(d.name.value))


def _is_internal_type(name: str) -> bool:
    return name in INTERNAL_TYPES or name.startswith(INTERNAL_PREFIXES)


def _merge_extensions(document: DocumentNode, roots: dict[str, str]) -> list[Any]:
    """Fold `extend type` into one definition per type and rename root types canonically."""
    merged: dict[str, Any] = {}
    for definition in document.definitions:
        if not isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
            continue
        name = roots.get(definition.name.value, definition.name.value)
        if isinstance(definition, TypeExtensionNode):
            kind = definition.kind.replace("_extension", "_definition")
            definition = _as_definition(definition, kind)
        definition = _replace(definition, name=NameNode(value=name))
        previous = merged.get(name)
        merged[name] = definition if previous is None else _combine(previous, definition)
    return list(merged.values())


def _as_definition(extension: Any, kind: str) -> Any:
    from graphql.language import ast

    cls = next(c for c in vars(ast).values() if getattr(c, "kind", None) == kind)
    values = {key: getattr(extension, key, None) for key in cls.keys if key != "loc"}
    values["directives"] = (*(extension.directives or ()), _EXTENDS_MARK)
    return cls(**{k: v for k, v in values.items() if k in cls.keys})


_EXTENDS_MARK = DirectiveNode(name=NameNode(value="__extension"), arguments=())


def _combine(first: Any, second: Any) -> Any:
    changes: dict[str, Any] = {}
    for key in ("fields", "values", "types", "interfaces", "directives"):
        if key in type(first).keys:
            changes[key] = (*(getattr(first, key) or ()), *(getattr(second, key) or ()))
    return _replace(first, **changes)


def _root_names(document: DocumentNode) -> dict[str, str]:
    roots: dict[str, str] = {}
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            for op in definition.operation_types or ():
                roots[op.type.name.value] = ROOT_NAMES[op.operation.value]
    return roots


def _unserved(names: _Names, directive: str, where: str) -> None:
    names.unserved.append(f"{directive} on {where} is not supported by this gateway")


def _refuse_unserved_arguments(node: FieldDefinitionNode, names: _Names, where: str) -> None:
    for argument in getattr(node, "arguments", None) or ():
        for name, _ in _fed_directives(argument.directives or (), names):
            if name in UNSERVED_DIRECTIVES:
                _unserved(names, f"@{name}", f"'{where}({argument.name.value}:)'")


def _read_field(node: FieldDefinitionNode, names: _Names, parent: str) -> SubgraphField:
    item = SubgraphField(name=node.name.value, node=node)
    where = f"{parent}.{node.name.value}"
    _refuse_unserved_arguments(node, names, where)
    for name, args in _fed_directives(node.directives or (), names):
        if name in UNSERVED_DIRECTIVES:
            _unserved(names, f"@{name}", f"'{where}'")
        if name == "override" and args.get("label"):
            _unserved(names, "@override(label:)", f"'{where}'")
        if name in ("requires", "provides") and "..." in str(args.get("fields", "")):
            _unserved(names, f"@{name} with a type condition", f"'{where}'")
        if name == "external":
            item.external = True
        elif name == "shareable":
            item.shareable = True
        elif name == "inaccessible":
            item.inaccessible = True
        elif name in ("requires", "provides"):
            setattr(item, name, str(args.get("fields", "")))
        elif name == "override":
            item.override_from = str(args.get("from", ""))
    changes: dict[str, Any] = {"directives": _strip(node.directives, names)}
    # Input object fields are InputValueDefinitionNodes, which take no arguments.
    if "arguments" in type(node).keys:
        changes["arguments"] = tuple(
            _replace(a, directives=_strip(a.directives, names)) for a in node.arguments or ()
        )
    item.node = _replace(node, **changes)
    return item


def _read_type(node: Any, names: _Names, fed2: bool) -> SubgraphType:
    directives = tuple(node.directives or ())
    directives = tuple(d for d in directives if d is not _EXTENDS_MARK)
    item = SubgraphType(name=node.name.value, node=node)
    type_external = False
    for name, args in _fed_directives(directives, names):
        if name in UNSERVED_DIRECTIVES:
            _unserved(names, f"@{name}", f"type '{item.name}'")
        if name == "key" and node.kind == "interface_type_definition":
            _unserved(names, "@key", f"interface '{item.name}'")
        if name == "key":
            item.keys.append(KeyDirective(str(args["fields"]), bool(args.get("resolvable", True))))
        elif name == "shareable":
            item.shareable = True
        elif name == "inaccessible":
            item.inaccessible = True
        elif name == "external":
            type_external = True
    changes: dict[str, Any] = {"directives": _strip(directives, names)}
    if "fields" in type(node).keys and node.fields is not None:
        fields = [_read_field(f, names, item.name) for f in node.fields]
        if item.name == "Query":
            fields = [f for f in fields if f.name not in INTERNAL_ROOT_FIELDS]
        for f in fields:
            f.external = f.external or type_external
            # Federation 1 had no @shareable: fields there are shareable unless external.
            f.shareable = f.shareable or item.shareable or not fed2
        item.fields = {f.name: f for f in fields}
        changes["fields"] = tuple(f.node for f in fields)
    if "values" in type(node).keys and node.values is not None:
        changes["values"] = tuple(
            _replace(v, directives=_strip(v.directives, names)) for v in node.values
        )
    item.node = _replace(node, **changes)
    return item


def read_subgraph(name: str, sdl: str) -> Subgraph:
    """Parse one subgraph's federation SDL; raise CompositionError naming it when invalid."""
    try:
        document = parse(sdl)
    except GraphQLError as error:
        raise CompositionError(f"Subgraph '{name}': SDL does not parse: {error.message}") from error
    names = _Names(document)
    roots = _root_names(document)
    types: dict[str, SubgraphType] = {}
    for node in _merge_extensions(document, roots):
        if _is_internal_type(node.name.value):
            continue
        types[node.name.value] = _read_type(node, names, names.fed2)
    extra_directives = [
        d
        for d in document.definitions
        if isinstance(d, DirectiveDefinitionNode) and not names.is_spec(d.name.value)
    ]
    clean = DocumentNode(definitions=(*extra_directives, *(t.node for t in types.values())))
    try:
        schema = build_ast_schema(clean)
    except (GraphQLError, TypeError) as error:
        raise CompositionError(f"Subgraph '{name}': invalid schema: {error}") from error
    unserved = [f"Subgraph '{name}': {finding}" for finding in names.unserved]
    return Subgraph(name=name, types=types, schema=schema, fed2=names.fed2, unserved=unserved)
