"""Declaring one HTTP interaction for a consumer test, with the forwarded caller header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pact import Pact, match

from contracts.harness.clients import CALLER_HEADER_REGEX, acting_as_customer, client_to
from contracts.harness.pacts import PactBook
from estore.kit.clients import ServiceClient
from estore.kit.identity import CALLER_HEADER


def expect(
    book: PactBook,
    description: str,
    *,
    state: str,
    params: dict[str, Any] | None = None,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    status: int,
    response: Any = None,
    headers: dict[str, Any] | None = None,
    forwards_caller: bool = True,
) -> Pact:
    """A one-interaction pact: the request as the consumer sends it, the answer it needs.

    `headers` are further request headers the provider needs (values may be matchers);
    `forwards_caller=False` for a provider outside our network, which never gets one.
    """
    pact = book.new()
    interaction = pact.upon_receiving(description).given(state, params or {})
    interaction.with_request(method, path)
    if forwards_caller:
        interaction.with_header(
            CALLER_HEADER, match.regex("v1.e30.c2ln", regex=CALLER_HEADER_REGEX)
        )
    for name, value in (headers or {}).items():
        interaction.with_header(name, value)
    for name, value in (query or {}).items():
        interaction.with_query_parameter(name, value)
    if body is not None:
        interaction.with_body(body, "application/json")
    interaction.will_respond_with(status)
    if response is not None:
        interaction.with_body(response, "application/json", part="Response")
    return pact


@asynccontextmanager
async def served_client(
    pact: Pact, provider: str, forwards_caller: bool = True
) -> AsyncIterator[ServiceClient]:
    """The kit's client to `provider`, aimed at this pact's mock server, while serving a
    customer; it forwards that customer unless `forwards_caller` is False (external systems)."""
    with pact.serve() as server, acting_as_customer():
        async with client_to(provider, str(server.url), forwards_caller) as client:
            yield client
