"""Fuzz every registered service's REST API against its own OpenAPI document."""

from __future__ import annotations

import pytest

from contracts.fuzz.runner import fuzz, openapi_of
from contracts.harness.inprocess import ClusterApp
from estore.cluster import SERVICES

# The gateway speaks GraphQL; its schema is fuzzed in test_graphql.py.
REST_SERVICES = sorted(name for name in SERVICES if name != "gateway")


@pytest.mark.parametrize("service", REST_SERVICES)
def test_service_answers_fuzzed_requests_as_its_openapi_documents(service: str) -> None:
    app = ClusterApp(service)
    failures = fuzz(openapi_of(app), app.caller_header)
    assert not failures, "\n\n".join(failures)
