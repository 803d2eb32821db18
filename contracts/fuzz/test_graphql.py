"""Fuzz the gateway's composed GraphQL schema in-process: no operation may fault the server."""

from __future__ import annotations

from datetime import UTC, datetime

import schemathesis
from graphql.language import StringValueNode
from hypothesis import strategies as st

from contracts.fuzz.checks import graphql_server_faults, no_graphql_server_fault
from contracts.fuzz.findings import unexplained
from contracts.fuzz.runner import fuzz
from contracts.harness.inprocess import ClusterApp
from estore.kit.identity import Caller, Role
from estore.services.auth.service import AuthService

# Every root field is fuzzed on its own; a few examples each keep the run within seconds.
GRAPHQL_EXAMPLES = 8
ADMIN = Caller(user_id="fuzz-admin", email="fuzz@example.com", roles=frozenset({Role.ADMIN}))


def iso_timestamps() -> st.SearchStrategy[StringValueNode]:
    """Schemathesis cannot invent custom scalars: DateTime takes an ISO-8601 UTC literal."""
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
    return moments.map(lambda m: StringValueNode(value=m.replace(tzinfo=UTC).isoformat()))


def test_the_gateway_answers_fuzzed_operations_without_a_server_fault() -> None:
    schemathesis.graphql.scalar("DateTime", iso_timestamps())
    app = ClusterApp("gateway")
    # An admin's token reaches past authentication into every resolver.
    token = app.cluster.service("auth", AuthService).issuer.issue_access_token(ADMIN)
    schema = schemathesis.graphql.from_asgi("/graphql", app)
    failures = fuzz(
        schema,
        lambda: {"Authorization": f"Bearer {token}"},
        GRAPHQL_EXAMPLES,
        checks=[no_graphql_server_fault],
    )
    # Faults already reported are replayed in test_findings.py; anything else fails here.
    new = unexplained(failures)
    assert not new, "\n\n".join(new)


def test_an_error_without_a_client_side_code_is_a_server_fault() -> None:
    answer = {
        "data": None,
        "errors": [
            {"message": "no such product", "extensions": {"code": "NOT_FOUND"}},
            {"message": "boom", "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR"}},
            {"message": "unexpected"},
        ],
    }
    assert graphql_server_faults(answer) == [
        "DOWNSTREAM_SERVICE_ERROR: boom",
        "(no code): unexpected",
    ]
