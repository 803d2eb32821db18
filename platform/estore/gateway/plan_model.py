"""Query plan data: fetches, what they depend on, and how to build their representations.

A plan is immutable once built and shared by every request with the same operation text,
operation name and @skip/@include conditions; each fetch carries its final subgraph operation
text so that subgraphs see the same document every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import OperationDefinitionNode, print_ast

from estore.gateway.selection import FieldSel, Selection

Path = tuple[str, ...]
LIST = "@"  # a path step meaning "every element of the list here"


@dataclass
class RepField:
    """One field of an entity representation, read from the merged response objects."""

    name: str
    source: FieldSel
    children: tuple[RepField, ...] | None = None

    @property
    def response_key(self) -> str:
        return self.source.response_key


@dataclass
class Fetch:
    id: int
    subgraph: str
    path: Path
    entity: bool
    selection: Selection = field(default_factory=Selection)
    depends_on: set[int] = field(default_factory=set)
    representations: dict[str, dict[str, RepField]] = field(default_factory=dict)
    query: str = ""
    variables: tuple[str, ...] = ()
    representations_variable: str = "representations"
    # {name sent: response key} for fields aliased apart in the subgraph operation.
    wire_keys: dict[str, str] = field(default_factory=dict)

    def add_representation(self, type_name: str, fields: list[RepField]) -> None:
        known = self.representations.setdefault(type_name, {})
        for rep in fields:
            known.setdefault(rep.name, rep)

    def owned_keys(self, type_name: str | None = None) -> tuple[str, ...]:
        """Response keys this fetch fills on each object it touches (nulled if it fails)."""
        selection = (
            self.selection.fragments.get(type_name, Selection()) if type_name else self.selection
        )
        return tuple(selection.fields)

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self.representations)


@dataclass(frozen=True)
class QueryPlan:
    operation_type: str
    fetches: tuple[Fetch, ...]


def render_fetch(fetch: Fetch, operation: OperationDefinitionNode) -> None:
    """Fix the fetch's operation text: declare only the client variables it uses."""
    fetch.wire_keys = fetch.selection.wire_keys()
    used = fetch.selection.variables()
    declared = [d for d in operation.variable_definitions or () if d.variable.name.value in used]
    fetch.variables = tuple(d.variable.name.value for d in declared)
    definitions = [print_ast(d) for d in declared]
    name = operation.name.value if operation.name else None
    # Apollo's naming, so subgraph logs tie a fetch back to the client operation.
    op_name = f" {name}__{fetch.subgraph}__{fetch.id}" if name else ""
    body = fetch.selection.to_text()
    if not fetch.entity:
        header = f"({', '.join(definitions)})" if definitions else ""
        fetch.query = f"{operation.operation.value}{op_name}{header} {body}"
        return
    if any(
        d.variable.name.value == "representations" for d in operation.variable_definitions or ()
    ):
        fetch.representations_variable = "_gw_representations"
    rep_var = fetch.representations_variable
    header = ", ".join([f"${rep_var}: [_Any!]!", *definitions])
    fetch.query = f"query{op_name}({header}) {{ _entities(representations: ${rep_var}) {body} }}"
