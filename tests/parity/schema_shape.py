"""A schema as a flat map of coordinates to what clients see there, for order-free comparison.

`shape(schema)` maps "Type", "Type.field", "Type.field(arg:)", "Enum.VALUE", "@directive" and
"schema.query" to a line describing kind, type, default value, description and deprecation;
`differences(ours, theirs)` lists every coordinate where two shapes disagree.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    ast_from_value,
    build_schema,
    print_ast,
    print_schema,
)


def normalised(schema: GraphQLSchema | str) -> GraphQLSchema:
    """Printed and rebuilt, so both sides come from graphql-core's own SDL round trip."""
    text = schema if isinstance(schema, str) else print_schema(schema)
    return build_schema(text)


def _described(line: str, item: Any) -> str:
    parts = [line]
    if getattr(item, "description", None):
        parts.append(f'"{item.description}"')
    if getattr(item, "deprecation_reason", None):
        parts.append(f"@deprecated({item.deprecation_reason!r})")
    return " ".join(parts)


def _default(value: GraphQLArgument | GraphQLInputField) -> str | None:
    """The default as SDL; graphql-core keeps an SDL default as its literal, not a value."""
    given = value.default
    if given is not None and given.literal is not Undefined and given.literal is not None:
        return print_ast(given.literal)
    raw = given.value if given is not None else value.default_value
    if raw is Undefined:
        return None
    literal = ast_from_value(raw, value.type)
    return print_ast(literal) if literal else "null"


def _input_value(value: GraphQLArgument | GraphQLInputField) -> str:
    default = _default(value)
    line = str(value.type) + (f" = {default}" if default is not None else "")
    return _described(line, value)


def _named_type(name: str, named: Any, found: dict[str, str]) -> None:
    kind = type(named).__name__.removeprefix("GraphQL").removesuffix("Type").lower()
    extra = ""
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and named.interfaces:
        extra = " implements " + " & ".join(sorted(i.name for i in named.interfaces))
    if isinstance(named, GraphQLUnionType):
        extra = " = " + " | ".join(sorted(t.name for t in named.types))
    found[name] = _described(kind + extra, named)
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            found[f"{name}.{field_name}"] = _described(str(field.type), field)
            for arg_name, arg in field.args.items():
                found[f"{name}.{field_name}({arg_name}:)"] = _input_value(arg)
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            found[f"{name}.{field_name}"] = _input_value(input_field)
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            found[f"{name}.{value_name}"] = _described("value", value)


def shape(schema: GraphQLSchema) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, named in schema.type_map.items():
        if not name.startswith("__"):
            _named_type(name, named, found)
    for directive in schema.directives:
        locations = ",".join(sorted(loc.name for loc in directive.locations))
        found[f"@{directive.name}"] = f"on {locations}" + (
            " repeatable" if directive.is_repeatable else ""
        )
        for arg_name, arg in directive.args.items():
            found[f"@{directive.name}({arg_name}:)"] = _input_value(arg)
    for operation in ("query", "mutation", "subscription"):
        root = getattr(schema, f"{operation}_type")
        if root is not None:
            found[f"schema.{operation}"] = root.name
    return found


def differences(ours: dict[str, str], theirs: dict[str, str]) -> list[str]:
    """Every coordinate where the shapes differ, sorted, as 'coordinate: ours | Apollo'."""
    lines = []
    for coordinate in sorted(ours.keys() | theirs.keys()):
        mine, reference = ours.get(coordinate), theirs.get(coordinate)
        if mine != reference:
            lines.append(f"{coordinate}: ours {mine or 'absent'} | Apollo {reference or 'absent'}")
    return lines
