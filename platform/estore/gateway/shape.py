"""Response shaping: the merged subgraph answers projected onto the client's own operation.

graphql-core executes the client document against the API schema with a resolver that reads
the merged tree by response key. That gives aliases, fragments, @skip/@include, __typename,
field order, introspection fields and non-null propagation exactly as the spec defines them.
An answer without failures is first offered to the operation's compiled projection
(projection.py), which gives the same data in one walk or declines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema, execute

from estore.gateway.execute import Failure, Outcome
from estore.gateway.projection import Projection

INVALID_GRAPHQL = "INVALID_GRAPHQL"


class _FailedField(Exception):
    """Raised where a Failure stands, so graphql-core nulls the field and propagates."""


def shape_response(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    outcome: Outcome,
    projection: Projection | None = None,
) -> dict[str, Any]:
    if projection is not None and not outcome.failures:
        data = projection(outcome.data)
        if data is not None:
            return {"data": data, "errors": outcome.errors} if outcome.errors else {"data": data}
    first_seen: dict[int, list[str | int]] = {}

    def resolve(source: Any, info: Any, **_: Any) -> Any:
        if not isinstance(source, dict):
            return None
        value = source.get(info.path.key)
        if isinstance(value, Failure):
            first_seen.setdefault(id(value), info.path.as_list())
            raise _FailedField
        return value

    result = execute(
        schema,
        document,
        root_value=outcome.data,
        variable_values=dict(variables or {}),
        operation_name=operation_name,
        field_resolver=resolve,
    )
    assert isinstance(result, ExecutionResult)  # every resolver here is synchronous
    errors = [*outcome.errors, *_failure_errors(outcome, first_seen)]
    errors += _own_errors(result.errors or [], errors)
    response: dict[str, Any] = {"data": result.data}
    if errors:
        response["errors"] = errors
    return response


def _failure_errors(outcome: Outcome, first_seen: Mapping[int, list[str | int]]) -> list[dict]:
    reported = []
    for failure in outcome.failures:
        error = dict(failure.error)
        if id(failure) in first_seen:
            error["path"] = first_seen[id(failure)]
        reported.append(error)
    return reported


def _related(a: list[Any], b: list[Any]) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _own_errors(errors: list[GraphQLError], downstream: list[dict[str, Any]]) -> list[dict]:
    """Errors from shaping itself, minus echoes of what a subgraph already reported.

    Coded INVALID_GRAPHQL, as Apollo Gateway codes what its own post-processing finds (a null
    where the schema forbids one, a value that does not serialize).
    """
    paths = [e["path"] for e in downstream if e.get("path")]
    kept = []
    for error in errors:
        if isinstance(error.original_error, _FailedField):
            continue
        path = list(error.path or [])
        if path and any(_related(path, p) for p in paths):
            continue
        formatted: dict[str, Any] = dict(error.formatted)
        formatted["extensions"] = {"code": INVALID_GRAPHQL, **(formatted.get("extensions") or {})}
        kept.append(formatted)
    return kept
