"""The subgraph fetcher: queries retried, mutations sent once, non-GraphQL answers refused."""

from __future__ import annotations

import httpx
import pytest

from estore.gateway.fetcher import ClientFetcher, SubgraphAnswerError
from estore.kit.clients import DependencyUnavailable, ServiceClient
from estore.kit.clock import SystemClock


class Flaky(httpx.AsyncBaseTransport):
    """Answers 503 `failures` times, then a GraphQL body; counts what it is sent."""

    def __init__(self, failures: int, body: bytes = b'{"data": {"hello": "hi"}}') -> None:
        self.failures = failures
        self.body = body
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.failures:
            return httpx.Response(503, json={"error": {"code": "unavailable"}})
        return httpx.Response(200, content=self.body)


def fetcher_over(transport: Flaky) -> ClientFetcher:
    client = ServiceClient("greeter", "http://greeter", transport, clock=SystemClock(), seed=1)
    return ClientFetcher({"greeter": client}, deadline=5)


async def test_a_query_is_retried_after_a_transient_failure() -> None:
    transport = Flaky(failures=1)
    answer = await fetcher_over(transport).fetch("greeter", "query { hello }", {}, {})
    assert answer == {"data": {"hello": "hi"}}
    assert transport.calls == 2


async def test_a_mutation_is_sent_once_and_its_failure_raised() -> None:
    transport = Flaky(failures=1)
    with pytest.raises(DependencyUnavailable):
        await fetcher_over(transport).fetch("greeter", "mutation { greet }", {}, {})
    assert transport.calls == 1


async def test_an_answer_that_is_not_graphql_is_a_failure_of_that_subgraph() -> None:
    transport = Flaky(failures=0, body=b'{"error": {"code": "not_found"}}')
    with pytest.raises(SubgraphAnswerError, match="greeter answered 200 without a GraphQL"):
        await fetcher_over(transport).fetch("greeter", "query { hello }", {}, {})
