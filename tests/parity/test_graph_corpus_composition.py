"""The corpus supergraphs are Apollo's own composition, and our API schema is Apollo's.

The supergraph files are committed (so unit tests read them without Node); this fails when
one no longer matches what `@apollo/composition` makes of its subgraph SDLs.
"""

from __future__ import annotations

from typing import Any

import pytest

from estore.gateway.compose import compose, from_supergraph_sdl
from estore.gateway.errors import CompositionError
from estore.gateway.join import UnsupportedSupergraph
from tests.parity.graph_corpus import CorpusGraph, invalid_graphs, refused_graphs, served_graphs
from tests.parity.reference import apollo_compose_many
from tests.parity.schema_shape import differences, normalised, shape

GRAPHS = {**served_graphs(), **{f"refused/{n}": g for n, g in refused_graphs().items()}}
INVALID = {f"invalid/{n}": g for n, g in invalid_graphs().items()}
RECOMPOSE = "python -m tests.parity.graph_corpus"


@pytest.fixture(scope="module")
def composed() -> dict[str, Any]:
    """Apollo's composition of every corpus graph, in one Node run."""
    outputs: dict[str, Any] = apollo_compose_many(
        {name: (graph.sdls, graph.urls()) for name, graph in {**GRAPHS, **INVALID}.items()}
    )
    return outputs


@pytest.mark.parametrize("name", list(GRAPHS))
def test_the_committed_supergraph_is_apollos_composition_of(
    name: str, composed: dict[str, Any]
) -> None:
    graph: CorpusGraph = GRAPHS[name]
    assert "errors" not in composed[name], composed[name]["errors"]
    assert graph.supergraph() == composed[name]["supergraphSdl"], f"stale: run `{RECOMPOSE}`"


@pytest.mark.parametrize("name", list(served_graphs()))
def test_our_api_schema_of_the_supergraph_is_apollos(name: str, composed: dict[str, Any]) -> None:
    graph = GRAPHS[name]
    ours = shape(normalised(from_supergraph_sdl(graph.supergraph()).api_schema))
    theirs = shape(normalised(composed[name]["apiSchema"]))
    assert differences(ours, theirs) == []
    assert len(ours) > 5


@pytest.mark.parametrize("name", list(INVALID))
def test_subgraphs_apollo_will_not_compose_we_will_not_either(
    name: str, composed: dict[str, Any]
) -> None:
    assert composed[name].get("errors"), "Apollo composed it: the case proves nothing"
    with pytest.raises(CompositionError) as refused:
        compose(INVALID[name].sdls)
    assert not isinstance(refused.value, UnsupportedSupergraph)  # refused as invalid
