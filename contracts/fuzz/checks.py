"""What every fuzzed response must satisfy: no 5xx, documented codes, documented shapes."""

from __future__ import annotations

from schemathesis import Case, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded so the whole suite stays under two minutes on two cores.
MAX_EXAMPLES = 6

# What a GraphQL answer may say went wrong on the client's side: anything else in `errors`
# (an error without a code, a failed subgraph, a plan that could not be made) is a server fault.
CLIENT_ERROR_CODES = frozenset(
    {
        "BAD_REQUEST",
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_PARSE_FAILED",
        "UNAUTHENTICATED",
        "UNAUTHORIZED",
        "FORBIDDEN",
        "NOT_FOUND",
        "CONFLICT",
        "UNPROCESSABLE",
        "TOO_MANY_REQUESTS",
        "OPERATION_TOO_COMPLEX",
        "MAX_DEPTH_EXCEEDED",
        "MAX_COST_EXCEEDED",
        "MAX_ALIASES_EXCEEDED",
        "PERSISTED_QUERY_NOT_FOUND",
    }
)


def graphql_server_faults(payload: object) -> list[str]:
    """The errors of a GraphQL answer that are the server's fault, as `code: message`."""
    if not isinstance(payload, dict):
        return [f"not a JSON object: {payload!r}"[:200]]
    faults = []
    for error in payload.get("errors") or []:
        code = str((error.get("extensions") or {}).get("code") or "")
        if code not in CLIENT_ERROR_CODES:
            faults.append(f"{code or '(no code)'}: {error.get('message')}")
    return faults


def no_graphql_server_fault(ctx: object, response: Response, case: Case) -> bool | None:
    """A check: no 5xx, and every GraphQL error carries a client-side code."""
    if response.status_code >= 500:
        raise AssertionError(f"{case.operation.label}: HTTP {response.status_code}")
    faults = graphql_server_faults(response.json())
    if faults:
        raise AssertionError(f"{case.operation.label}: " + "; ".join(faults))
    return None
