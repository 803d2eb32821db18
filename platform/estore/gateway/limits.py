"""Operation limits: depth, cost, aliases and list lengths, checked before anything is fetched.

Cost is a field count where a list field multiplies the cost of what it selects by its page
size. A page size is read from the argument (`first`, `limit`, ...) whether it is written as a
literal or passed as a variable (the variable's value, else its default in the operation), else
from the argument's default in the schema, else a default guess. A connection field's page size
(`products(first: 100) { nodes { ... } }`) is the size of the lists it holds. So a client
cannot dodge the limit by moving a number into a variable.

The analysis of a document is done once (`analyse`); what depends on variables is kept as a
formula evaluated per request, so a cached document costs a few multiplications to re-check.
Introspection is answered by the gateway from the schema and is bounded by it, so it counts
towards none of the limits.

A supergraph's demand-control directives refine this: `@cost(weight:)` on a field (or on the
type it returns) replaces its 1, and `@listSize` sizes a list by its `slicingArguments`
(literal or variable, as above), else by its `assumedSize`; with `sizedFields` the size is that
of the named child lists (a connection). `requireOneSlicingArgument` (the default) refuses a
request giving none or several of them.

No list argument may hold more than `max_list_items` items, written in the document or sent in
the variables: a subgraph would refuse a cart of 10,000 lines too, but only after the gateway
had coerced and sent every one of them. The variables are measured as sent, before coercion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)

PAGE_SIZE_ARGUMENTS = ("first", "last", "limit", "pageSize", "size", "take")


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_cost: int = 10_000
    max_aliases: int = 30
    max_list_items: int = 500
    default_list_size: int = 10
    introspection: bool = True


@dataclass(frozen=True)
class ListSize:
    """A field's `@listSize`."""

    assumed: int | None = None
    slicing: tuple[str, ...] = ()
    sized_fields: tuple[str, ...] = ()
    require_one: bool = True


@dataclass(frozen=True)
class CostDirectives:
    """`@cost` weights by (type, field) and by type, `@listSize` by (type, field)."""

    field_weights: Mapping[tuple[str, str], int] = field(default_factory=dict)
    type_weights: Mapping[str, int] = field(default_factory=dict)
    list_sizes: Mapping[tuple[str, str], ListSize] = field(default_factory=dict)


@dataclass(frozen=True)
class PageSize:
    """How many items a list asks for: `fallback`, unless `variable` holds an integer."""

    fallback: int
    variable: str | None = None
    variable_default: Any = None

    def resolve(self, variables: Mapping[str, Any]) -> int:
        if self.variable is None:
            return self.fallback
        value = variables.get(self.variable, self.variable_default)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
        return self.fallback  # null or absent: the argument's default applies


@dataclass(frozen=True)
class Cost:
    """`constant` plus, for each (page size, inner cost), the page size times the inner cost."""

    constant: int = 0
    scaled: tuple[tuple[PageSize, Cost], ...] = ()

    def plus(self, other: Cost) -> Cost:
        return Cost(self.constant + other.constant, self.scaled + other.scaled)

    def times(self, page: PageSize) -> Cost:
        if page.variable is None and not self.scaled:
            return Cost(page.fallback * self.constant)
        return Cost(0, ((page, self),))

    def value(self, variables: Mapping[str, Any]) -> int:
        return self.constant + sum(
            page.resolve(variables) * inner.value(variables) for page, inner in self.scaled
        )

    def variables(self) -> frozenset[str]:
        names = {page.variable for page, _ in self.scaled if page.variable is not None}
        for _, inner in self.scaled:
            names |= inner.variables()
        return frozenset(names)


@dataclass(frozen=True)
class Analysis:
    """What one operation asks of the gateway; `cost_variables` are those its cost reads."""

    depth: int
    aliases: int
    cost: Cost
    cost_variables: tuple[str, ...] = ()
    # The most items of a list written in the document (or a variable's default), and its name.
    longest_list: tuple[int, str] = (0, "")
    # Lists whose @listSize requires exactly one slicing argument and did not get it.
    slicing_errors: tuple[str, ...] = ()

    def shape_errors(self, limits: Limits) -> list[GraphQLError]:
        """Errors that no variable value can change: depth and aliases."""
        errors = []
        if self.depth > limits.max_depth:
            errors.append(
                _error(
                    f"Query depth {self.depth} exceeds the maximum of {limits.max_depth}",
                    "MAX_DEPTH_EXCEEDED",
                )
            )
        if self.aliases > limits.max_aliases:
            errors.append(
                _error(
                    f"Query uses {self.aliases} aliases, "
                    f"more than the maximum of {limits.max_aliases}",
                    "MAX_ALIASES_EXCEEDED",
                )
            )
        if self.longest_list[0] > limits.max_list_items:
            errors.append(_too_long(self.longest_list, limits))
        errors += [_error(message, "BAD_USER_INPUT") for message in self.slicing_errors]
        return errors

    def cost_errors(self, limits: Limits, variables: Mapping[str, Any]) -> list[GraphQLError]:
        cost = self.cost.value(variables)
        if cost <= limits.max_cost:
            return []
        return [
            _error(
                f"Query cost {cost} exceeds the maximum of {limits.max_cost}", "MAX_COST_EXCEEDED"
            )
        ]

    def variable_key(self, variables: Mapping[str, Any]) -> tuple[Any, ...]:
        """The variable values the cost depends on, as a cache key."""
        return tuple(_int_or_none(variables.get(name)) for name in self.cost_variables)


def analyse(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    limits: Limits,
    costs: CostDirectives | None = None,
) -> Analysis:
    """Measure a validated operation once; variable values are applied later, per request."""
    defaults = _variable_defaults(operation)
    walk = _Walk(schema, fragments, limits, defaults, costs or CostDirectives())
    cost = walk.selections(schema.get_root_type(operation.operation), operation.selection_set, 1)
    limit = limits.max_list_items
    longest = max([walk.longest_list, *(_longest_list(v, k, limit) for k, v in defaults.items())])
    return Analysis(
        walk.depth,
        walk.aliases,
        cost,
        tuple(sorted(cost.variables())),
        longest,
        tuple(walk.slicing_errors),
    )


def list_errors(limits: Limits, variables: Mapping[str, Any]) -> list[GraphQLError]:
    """BAD_USER_INPUT when a variable, as sent, holds a list over the maximum (at any depth)."""
    limit = limits.max_list_items
    for name, value in variables.items():
        longest = _longest_list(value, name, limit)
        if longest[0] > limit:
            return [_too_long(longest, limits)]
    return []


def check_limits(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    limits: Limits,
    variables: Mapping[str, Any] | None = None,
) -> list[GraphQLError]:
    """GraphQL errors for each limit the operation exceeds with these variables (empty: none)."""
    analysis = analyse(schema, operation, fragments, limits)
    errors = analysis.shape_errors(limits) + list_errors(limits, variables or {})
    return errors + analysis.cost_errors(limits, variables or {})


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _too_long(longest: tuple[int, str], limits: Limits) -> GraphQLError:
    """Worded as the subgraphs word their own list maxima (estore.kit.inputs)."""
    items, name = longest
    message = f"{name}: at most {limits.max_list_items} are taken, got {items}"
    return _error(message, "BAD_USER_INPUT")


def _longest_list(value: Any, name: str, limit: int) -> tuple[int, str]:
    """The longest list in a JSON value and the key that holds it, found without recursion.

    The first list found over `limit` ends the search: the items of a list that is refused
    anyway are not worth walking. A variable may nest as deep as the JSON parser allowed; an
    explicit stack cannot overflow.
    """
    longest, pending = (0, name), [(value, name)]
    while pending:
        current, key = pending.pop()
        if isinstance(current, list):
            longest = max(longest, (len(current), key))
            if len(current) > limit:
                return longest
            pending.extend((item, key) for item in current)
        elif isinstance(current, dict):
            pending.extend((item, str(field)) for field, item in current.items())
    return longest


def _longest_literal_list(node: ValueNode, name: str, limit: int) -> tuple[int, str]:
    """The longest list written in an argument's literal value, as `_longest_list` finds it."""
    longest, pending = (0, name), [(node, name)]
    while pending:
        current, key = pending.pop()
        if isinstance(current, ListValueNode):
            longest = max(longest, (len(current.values), key))
            if len(current.values) > limit:
                return longest
            pending.extend((item, key) for item in current.values)
        elif isinstance(current, ObjectValueNode):
            pending.extend((field.value, field.name.value) for field in current.fields)
    return longest


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _schema_default(argument: GraphQLArgument) -> Any:
    """An argument's default in the schema (graphql-core 3.3 keeps an SDL default as a literal)."""
    default = argument.default
    if default is None:
        return argument.default_value
    return value_from_ast_untyped(default.literal) if default.literal is not None else default.value


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    return {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }


class _Walk:
    """One pass over an operation, collecting depth and aliases and building its cost."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        limits: Limits,
        variable_defaults: Mapping[str, Any],
        costs: CostDirectives,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.limits = limits
        self.variable_defaults = variable_defaults
        self.costs = costs
        self.depth = 0
        self.aliases = 0
        self.longest_list = (0, "")
        self.slicing_errors: list[str] = []

    def selections(
        self,
        parent: GraphQLNamedType | None,
        selection_set: SelectionSetNode,
        depth: int,
        page: PageSize | None = None,
        sized: tuple[str, ...] = (),
    ) -> Cost:
        """The cost of a selection set; `page` sizes its lists (those named in `sized`, when
        given) when the parent is a connection."""
        total = Cost()
        connection = (page, sized) if page is not None else None
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total = total.plus(self._field(parent, node, depth, connection))
                continue
            inner = node.selection_set if hasattr(node, "selection_set") else None
            condition = getattr(node, "type_condition", None)
            if inner is None:  # a fragment spread
                fragment = self.fragments[node.name.value]  # type: ignore[attr-defined]
                inner, condition = fragment.selection_set, fragment.type_condition
            scope = self.schema.get_type(condition.name.value) if condition else parent
            total = total.plus(self.selections(scope, inner, depth, page, sized))
        return total

    def _field(
        self,
        parent: GraphQLNamedType | None,
        node: FieldNode,
        depth: int,
        connection_page: tuple[PageSize, tuple[str, ...]] | None,
    ) -> Cost:
        if node.name.value.startswith("__"):
            return Cost()
        self.aliases += node.alias is not None
        self.depth = max(self.depth, depth)
        for argument in node.arguments or ():
            literal = _longest_literal_list(
                argument.value, argument.name.value, self.limits.max_list_items
            )
            self.longest_list = max(self.longest_list, literal)
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:
            return Cost(1)
        child = get_named_type(definition.type)
        weight = Cost(self._weight(parent, node.name.value, child))
        size = self.costs.list_sizes.get((getattr(parent, "name", ""), node.name.value))
        own_page = self._list_size(node, definition, size) if size else None
        own_page = own_page or self._page_size(node, definition)
        listed = is_list_type(get_nullable_type(definition.type))
        if listed and own_page is None and connection_page is not None:
            page, names = connection_page
            own_page = page if not names or node.name.value in names else None
        if not node.selection_set:
            return weight.times(own_page) if listed and size is not None and own_page else weight
        sized = size.sized_fields if size else ()
        if not listed:
            inner = self.selections(child, node.selection_set, depth + 1, own_page, sized)
            return weight.plus(inner)
        page = own_page or PageSize(self.limits.default_list_size)
        inner = self.selections(child, node.selection_set, depth + 1)
        return weight.plus(inner.times(page))

    def _weight(self, parent: GraphQLNamedType | None, name: str, child: GraphQLNamedType) -> int:
        key = (getattr(parent, "name", ""), name)
        if key in self.costs.field_weights:
            return self.costs.field_weights[key]
        return self.costs.type_weights.get(child.name, 1)

    def _list_size(self, node: FieldNode, definition: GraphQLField, size: ListSize) -> PageSize:
        given = [a for a in node.arguments or () if a.name.value in size.slicing]
        if size.slicing and size.require_one and len(given) != 1:
            names = ", ".join(size.slicing)
            self.slicing_errors.append(
                f"'{node.name.value}' takes exactly one of its slicing arguments ({names}), "
                f"got {len(given)}"
            )
        fallback = size.assumed if size.assumed is not None else self.limits.default_list_size
        for argument in given:
            if isinstance(argument.value, IntValueNode):
                return PageSize(max(int(argument.value.value), 0))
            if isinstance(argument.value, VariableNode):
                variable = argument.value.name.value
                default = _int_or_none(_schema_default(definition.args[argument.name.value]))
                return PageSize(
                    fallback if default is None else default,
                    variable,
                    self.variable_defaults.get(variable),
                )
        for name in size.slicing:  # not given: the argument's default in the schema
            default = (
                _int_or_none(_schema_default(definition.args[name]))
                if name in definition.args
                else None
            )
            if default is not None:
                return PageSize(max(default, 0))
        return PageSize(fallback)

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> PageSize | None:
        """The page size this field asks for, or None when it takes no page-size argument."""
        name = next((a for a in PAGE_SIZE_ARGUMENTS if a in definition.args), None)
        if name is None:
            return None
        default = _int_or_none(_schema_default(definition.args[name]))
        fallback = self.limits.default_list_size if default is None else max(default, 0)
        given = next((a.value for a in node.arguments or () if a.name.value == name), None)
        if isinstance(given, IntValueNode):
            return PageSize(max(int(given.value), 0))
        if isinstance(given, VariableNode):
            variable = given.name.value
            return PageSize(fallback, variable, self.variable_defaults.get(variable))
        return PageSize(fallback)
