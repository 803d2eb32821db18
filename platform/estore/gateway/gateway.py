"""The gateway facade: validate, limit, plan (cached), fetch, shape one client request.

Parse + validate costs about 2 ms per request and planning more, so both are cached: documents
by (text, operation name), plans additionally by the values of @skip/@include conditions. The
limits are analysed with the document; a cost that reads variables is re-checked per request
and cached by the values it reads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values

from estore.gateway.collect import condition_variables
from estore.gateway.compose import compose
from estore.gateway.errors import PlanningError
from estore.gateway.execute import SubgraphFetcher, execute_plan
from estore.gateway.limits import Analysis, Limits, analyse, list_errors
from estore.gateway.plan import build_plan
from estore.gateway.plan_model import QueryPlan
from estore.gateway.projection import Projection, compile_projection
from estore.gateway.shape import shape_response
from estore.gateway.supergraph import Supergraph

V = TypeVar("V")
BAD_USER_INPUT = "BAD_USER_INPUT"


class LruCache(Generic[V]):
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> V:
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class PreparedOperation:
    """A parsed, validated and limit-checked client operation (or why it was refused)."""

    document: DocumentNode | None
    operation: OperationDefinitionNode | None
    fragments: Mapping[str, FragmentDefinitionNode]
    errors: tuple[GraphQLError, ...]
    conditions: tuple[str, ...]
    analysis: Analysis | None = None
    projection: Projection | None = None


def _bad_user_input(error: GraphQLError) -> GraphQLError:
    """Variables that do not fit are the client's input, coded as Apollo codes them."""
    return GraphQLError(
        error.message,
        error.nodes,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": BAD_USER_INPUT},
    )


def _refused(errors: list[GraphQLError]) -> PreparedOperation:
    return PreparedOperation(None, None, {}, tuple(errors), ())


class Gateway:
    """Federation gateway engine over injected subgraph fetching."""

    def __init__(
        self,
        supergraph: Supergraph,
        fetcher: SubgraphFetcher,
        limits: Limits | None = None,
        cache_size: int = 1000,
    ) -> None:
        self.supergraph = supergraph
        self.fetcher = fetcher
        self.limits = limits or Limits()
        self._documents: LruCache[PreparedOperation] = LruCache(cache_size)
        self._plans: LruCache[QueryPlan] = LruCache(cache_size)
        self._costs: LruCache[tuple[GraphQLError, ...]] = LruCache(cache_size)
        self._rules = list(specified_rules)
        if not self.limits.introspection:
            self._rules.append(NoSchemaIntrospectionCustomRule)

    @classmethod
    def from_sdls(
        cls, sdls: Mapping[str, str], fetcher: SubgraphFetcher, limits: Limits | None = None
    ) -> Gateway:
        return cls(compose(sdls), fetcher, limits)

    @property
    def schema(self) -> GraphQLSchema:
        return self.supergraph.api_schema

    def prepare(self, query: str, operation_name: str | None = None) -> PreparedOperation:
        key = (query, operation_name)
        return self._documents.get(key) or self._documents.put(
            key, self._prepare(query, operation_name)
        )

    def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        try:
            document = parse(query)
        except GraphQLError as error:
            return _refused([error])
        errors = validate(self.schema, document, self._rules)
        if errors:
            return _refused(errors)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            wanted = f"named '{operation_name}'" if operation_name else "(give operationName)"
            return _refused([GraphQLError(f"Cannot pick the operation to run {wanted}")])
        if operation.operation.value == "subscription":
            return _refused([GraphQLError("Subscriptions are not served by this endpoint")])
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        analysis = analyse(self.schema, operation, fragments, self.limits, self.supergraph.costs)
        errors = analysis.shape_errors(self.limits)
        if not analysis.cost_variables:
            errors += analysis.cost_errors(self.limits, {})
        if errors:
            return _refused(errors)
        conditions = condition_variables(document)
        projection = compile_projection(self.schema, operation, fragments)
        return PreparedOperation(
            document, operation, fragments, (), conditions, analysis, projection
        )

    def plan(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> QueryPlan:
        """The (cached) plan for a request; raises ValueError when the request is refused."""
        prepared = self.prepare(query, operation_name)
        coerced = self._admit(query, operation_name, prepared, variables)
        if isinstance(coerced, list):
            raise ValueError("; ".join(e.message for e in coerced))
        return self._plan(query, operation_name, prepared, coerced)

    def _admit(
        self,
        query: str,
        name: str | None,
        prepared: PreparedOperation,
        variables: Mapping[str, Any] | None,
    ) -> dict[str, Any] | list[GraphQLError]:
        """The coerced variables, or why the request is refused (its cost with them included)."""
        too_long = list_errors(self.limits, variables or {}) if not prepared.errors else []
        if too_long:
            return too_long  # refused before coercion, which costs per item
        coerced = self._coerce(prepared, variables)
        analysis = prepared.analysis
        if isinstance(coerced, list) or analysis is None or not analysis.cost_variables:
            return coerced
        key = (query, name, analysis.variable_key(coerced))
        errors = self._costs.get(key)
        if errors is None:
            errors = self._costs.put(key, tuple(analysis.cost_errors(self.limits, coerced)))
        return list(errors) if errors else coerced

    def _coerce(
        self, prepared: PreparedOperation, variables: Mapping[str, Any] | None
    ) -> dict[str, Any] | list[GraphQLError]:
        if prepared.errors or prepared.operation is None:
            return list(prepared.errors)
        definitions = prepared.operation.variable_definitions or ()
        result = get_variable_values(self.schema, definitions, dict(variables or {}))
        if isinstance(result, list):
            return [_bad_user_input(error) for error in result]
        return dict(result.coerced)

    def _plan(
        self, query: str, name: str | None, prepared: PreparedOperation, coerced: dict[str, Any]
    ) -> QueryPlan:
        key = (query, name, tuple(coerced.get(v) is True for v in prepared.conditions))
        cached = self._plans.get(key)
        if cached is not None:
            return cached
        assert prepared.operation is not None
        plan = build_plan(self.supergraph, prepared.operation, prepared.fragments, coerced)
        return self._plans.put(key, plan)

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Answer one GraphQL request as a spec-shaped response dict."""
        prepared = self.prepare(query, operation_name)
        coerced = self._admit(query, operation_name, prepared, variables)
        if isinstance(coerced, list):
            return {"errors": [e.formatted for e in coerced]}
        try:
            plan = self._plan(query, operation_name, prepared, coerced)
        except PlanningError as error:
            return {
                "errors": [{"message": str(error), "extensions": {"code": "QUERY_PLANNING_FAILED"}}]
            }
        outcome = await execute_plan(plan, self.fetcher, dict(variables or {}), headers or {})
        assert prepared.document is not None
        return shape_response(
            self.schema, prepared.document, operation_name, variables, outcome, prepared.projection
        )
