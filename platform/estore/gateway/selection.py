"""Subgraph selection sets under construction, and their printing into operation text.

Fields the gateway adds for its own needs (keys, @requires inputs, __typename) share the
response objects with the client's fields; `KeySpace` gives them a response key that cannot
collide with a client alias, since every fetch at a path writes into the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    ArgumentNode,
    FieldNode,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    print_ast,
)

Signature = tuple[str, str]
INTERNAL_PREFIX = "_gw_"


def signature(name: str, arguments: tuple[ArgumentNode, ...]) -> Signature:
    return name, "".join(print_ast(a) for a in arguments)


@dataclass
class FieldSel:
    response_key: str
    name: str
    arguments: tuple[ArgumentNode, ...] = ()
    selection: Selection | None = None
    # The name it is sent under when `response_key` would conflict in the subgraph operation
    # (the answer is renamed back before merging).
    wire_key: str | None = None

    @property
    def sent_key(self) -> str:
        return self.wire_key or self.response_key


@dataclass
class Selection:
    fields: dict[str, FieldSel] = field(default_factory=dict)
    fragments: dict[str, Selection] = field(default_factory=dict)

    def add(
        self, key: str, name: str, arguments: tuple[ArgumentNode, ...], composite: bool
    ) -> FieldSel:
        existing = self.fields.get(key)
        if existing is None:
            existing = FieldSel(key, name, arguments, Selection() if composite else None)
            self.fields[key] = existing
        return existing

    def add_typename(self) -> None:
        self.add("__typename", "__typename", (), composite=False)

    def fragment(self, type_name: str) -> Selection:
        return self.fragments.setdefault(type_name, Selection())

    def is_empty(self) -> bool:
        return not self.fields and all(f.is_empty() for f in self.fragments.values())

    def to_ast(self) -> SelectionSetNode:
        nodes: list[FieldNode | InlineFragmentNode] = []
        for sel in self.fields.values():
            key = sel.sent_key
            nodes.append(
                FieldNode(
                    alias=NameNode(value=key) if key != sel.name else None,
                    name=NameNode(value=sel.name),
                    arguments=sel.arguments,
                    directives=(),
                    selection_set=sel.selection.to_ast() if sel.selection is not None else None,
                )
            )
        for type_name, fragment in self.fragments.items():
            if fragment.is_empty():
                continue
            nodes.append(
                InlineFragmentNode(
                    type_condition=NamedTypeNode(name=NameNode(value=type_name)),
                    directives=(),
                    selection_set=fragment.to_ast(),
                )
            )
        return SelectionSetNode(selections=tuple(nodes))

    def to_text(self) -> str:
        """Compact one-line text (`{ a b: c(x: $v) { d } ... on T { e } }`)."""
        parts: list[str] = []
        for sel in self.fields.values():
            key = sel.sent_key
            text = sel.name if key == sel.name else f"{key}: {sel.name}"
            if sel.arguments:
                text += "(" + ", ".join(print_ast(a) for a in sel.arguments) + ")"
            if sel.selection is not None:
                text += " " + sel.selection.to_text()
            parts.append(text)
        for type_name, fragment in self.fragments.items():
            if not fragment.is_empty():
                parts.append(f"... on {type_name} {fragment.to_text()}")
        return "{ " + " ".join(parts) + " }"

    def wire_keys(self) -> dict[str, str]:
        """{sent name: response key} for every field sent under another name, at any depth."""
        found = {s.wire_key: s.response_key for s in self.fields.values() if s.wire_key}
        for sel in self.fields.values():
            if sel.selection is not None:
                found |= sel.selection.wire_keys()
        for fragment in self.fragments.values():
            found |= fragment.wire_keys()
        return found

    def variables(self) -> set[str]:
        """Names of the client variables this selection uses in its arguments."""
        found: set[str] = set()
        for sel in self.fields.values():
            for argument in sel.arguments:
                _variables_in(argument.value, found)
            if sel.selection is not None:
                found |= sel.selection.variables()
        for fragment in self.fragments.values():
            found |= fragment.variables()
        return found


def _variables_in(value: ValueNode, found: set[str]) -> None:
    if isinstance(value, VariableNode):
        found.add(value.name.value)
    for child in getattr(value, "values", None) or ():
        _variables_in(child, found)
    for child in getattr(value, "fields", None) or ():
        _variables_in(child.value, found)


class KeySpace:
    """Response keys in use per (path, type) across all fetches, client keys first."""

    def __init__(self) -> None:
        self._keys: dict[tuple[tuple[str, ...], str], dict[str, Signature]] = {}

    def claim(self, path: tuple[str, ...], type_name: str, key: str, sig: Signature) -> None:
        self._keys.setdefault((path, type_name), {}).setdefault(key, sig)

    def internal_key(self, path: tuple[str, ...], type_name: str, name: str) -> str:
        """The plain field name when free (or already the same field), else a private alias."""
        used = self._keys.setdefault((path, type_name), {})
        plain = (name, "")
        key = name if used.get(name, plain) == plain else INTERNAL_PREFIX + name
        used.setdefault(key, plain)
        return key
