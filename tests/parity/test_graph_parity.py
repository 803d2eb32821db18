"""Any graph: our gateway and Apollo Gateway serve each corpus supergraph and answer alike.

One port serves every corpus subgraph and one Node process every Apollo Gateway, so the whole
corpus costs a few seconds of start-up. Our side reads the same supergraph file through the
same code as `GATEWAY_SUPERGRAPH` does, and calls the subgraphs at the URLs it names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from estore.gateway.compose import from_supergraph_sdl
from estore.gateway.fetcher import ClientFetcher
from estore.gateway.gateway import Gateway
from estore.gateway.http import with_codes
from estore.kit.clients import ClientRegistry
from estore.kit.clock import SystemClock
from estore.kit.testing import free_ports
from tests.parity.answers import ask, comparable
from tests.parity.graph_corpus import CorpusGraph, served_graphs
from tests.parity.reference import apollo_gateways
from tests.parity.static_subgraphs import StaticSubgraph, serving_subgraphs

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

GRAPHS = served_graphs()
DEADLINE_SECONDS = 5.0


@dataclass
class Corpus:
    ours: dict[str, Gateway]
    apollo: dict[str, str]


def our_gateway(supergraph_sdl: str, clients: list[ClientRegistry]) -> Gateway:
    supergraph = from_supergraph_sdl(supergraph_sdl)
    registry = ClientRegistry(
        {name: (url, httpx.AsyncHTTPTransport()) for name, url in supergraph.urls.items()},
        clock=SystemClock(),
        registry=CollectorRegistry(),
        deadline=DEADLINE_SECONDS,
    )
    clients.append(registry)
    return Gateway(supergraph, ClientFetcher(registry, DEADLINE_SECONDS, path=""))


def _subgraphs(graphs: dict[str, CorpusGraph]) -> dict[tuple[str, str], StaticSubgraph]:
    return {
        (graph.name, name): StaticSubgraph(name, sdl, graph.data.get(name, {}))
        for graph in graphs.values()
        for name, sdl in graph.sdls.items()
    }


@pytest.fixture(scope="module")
async def corpus() -> AsyncIterator[Corpus]:
    port = free_ports(1)[0]
    base = f"http://127.0.0.1:{port}"
    supergraphs = {name: graph.supergraph(base) for name, graph in GRAPHS.items()}
    clients: list[ClientRegistry] = []
    async with serving_subgraphs(_subgraphs(GRAPHS), port), apollo_gateways(supergraphs) as urls:
        ours = {name: our_gateway(sdl, clients) for name, sdl in supergraphs.items()}
        try:
            yield Corpus(ours, urls)
        finally:
            for registry in clients:
                await registry.aclose()


def as_spec_errors(apollo: dict[str, Any]) -> dict[str, Any]:
    """Apollo's answer with its value-completion errors where the GraphQL spec puts them.

    A deliberate difference: Apollo Gateway reports a null in a non-null field found while
    shaping the answer under `extensions.valueCompletion` (its data may then be null with no
    error at all); we report it in `errors`, as the spec and Apollo Router do, with Apollo's
    code INVALID_GRAPHQL.
    """
    extensions = apollo.get("extensions") or {}
    completion = extensions.get("valueCompletion") or []
    if not completion:
        return apollo
    return {**apollo, "errors": [*(apollo.get("errors") or []), *completion]}


CASES = [(graph.name, index) for graph in GRAPHS.values() for index in range(len(graph.asks))]


def _case_id(case: tuple[str, int]) -> str:
    graph, index = case
    return f"{graph}: {GRAPHS[graph].asks[index].name}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
async def test_our_gateway_answers_as_apollo_on(case: tuple[str, int], corpus: Corpus) -> None:
    graph, index = case
    question = GRAPHS[graph].asks[index]
    ours: dict[str, Any] = with_codes(
        await corpus.ours[graph].execute(question.query, question.variables)
    )
    theirs = as_spec_errors(await ask(corpus.apollo[graph], question.query, question.variables))
    assert comparable(ours) == comparable(theirs), f"ours: {ours}\napollo: {theirs}"
    assert bool(ours.get("errors")) != question.clean, ours
