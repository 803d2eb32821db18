"""Reading Apollo supergraph SDL: subgraphs and URLs out of the join spec, and the refusals."""

from __future__ import annotations

import re

import pytest
from graphql import print_schema

from estore.gateway.compose import compose, from_supergraph_sdl
from estore.gateway.errors import CompositionError
from estore.gateway.join import UnsupportedSupergraph, read_supergraph_sdl
from tests.parity.graph_corpus import refused_graphs, served_graphs

REFUSED = refused_graphs()
SERVED = served_graphs()


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_supergraph_using_an_unsupported_feature_is_refused_naming_it(name: str) -> None:
    graph = REFUSED[name]
    with pytest.raises(UnsupportedSupergraph) as refused:
        from_supergraph_sdl(graph.supergraph())
    assert graph.refusal in str(refused.value)
    assert "not supported by this gateway" in str(refused.value)


@pytest.mark.parametrize("name", list(SERVED))
def test_every_served_corpus_graph_is_accepted(name: str) -> None:
    supergraph = from_supergraph_sdl(SERVED[name].supergraph())
    assert set(supergraph.subgraphs) == set(SERVED[name].sdls)


def test_subgraph_urls_are_the_ones_the_supergraph_names() -> None:
    graph = SERVED["entities"]
    supergraph = from_supergraph_sdl(graph.supergraph("http://10.0.0.7:8080/base"))
    assert supergraph.urls == {
        "products": "http://10.0.0.7:8080/base/entities/products/graphql",
        "reviews": "http://10.0.0.7:8080/base/entities/reviews/graphql",
        "users": "http://10.0.0.7:8080/base/entities/users/graphql",
    }


def test_extracted_subgraphs_keep_keys_resolvability_and_external_fields() -> None:
    supergraph = from_supergraph_sdl(SERVED["entities"].supergraph())
    reviews = supergraph.subgraphs["reviews"]
    assert [(k.fields, k.resolvable) for k in reviews.types["User"].keys] == [("id", False)]
    assert set(reviews.types["Product"].fields) == {"id", "reviews", "reviewCount"}
    assert supergraph.types["Product"].fields["name"].resolvers == ("products",)


def test_inaccessible_elements_leave_the_api_schema_but_stay_routable() -> None:
    supergraph = from_supergraph_sdl(SERVED["inaccessible"].supergraph())
    printed = print_schema(supergraph.api_schema)
    for hidden in ("internalCode", "LEGACY", "includeHidden", "debug", "Stats", "internalStats"):
        assert hidden not in printed
    assert supergraph.resolves("stock", "Item", "internalCode")  # the key stock is reached by


def test_a_plain_schema_is_not_taken_for_a_supergraph() -> None:
    with pytest.raises(
        CompositionError, match=re.escape("no @link to https://specs.apollo.dev/join/")
    ):
        read_supergraph_sdl("type Query { a: Int }")


def test_a_supergraph_that_does_not_parse_says_so_in_one_line() -> None:
    with pytest.raises(CompositionError, match="does not parse"):
        read_supergraph_sdl("type Query {")


def test_an_older_join_spec_is_refused_with_how_to_fix_it() -> None:
    old = SERVED["entities"].supergraph().replace("join/v0.3", "join/v0.2")
    with pytest.raises(UnsupportedSupergraph, match=r"join spec v0.2 .*recompose"):
        read_supergraph_sdl(old)


def test_an_unknown_feature_for_execution_is_refused() -> None:
    linked = (
        SERVED["entities"]
        .supergraph()
        .replace(
            "{\n  query: Query",
            '@link(url: "https://specs.apollo.dev/magic/v0.1", for: EXECUTION)\n{\n  query: Query',
            1,
        )
    )
    with pytest.raises(UnsupportedSupergraph, match=re.escape("magic/v0.1")):
        read_supergraph_sdl(linked)


@pytest.mark.parametrize("name", list(REFUSED))
def test_composing_the_same_subgraphs_ourselves_refuses_them_too(name: str) -> None:
    graph = REFUSED[name]
    directive = graph.refusal.split(" on ")[0]
    with pytest.raises(CompositionError) as refused:
        compose(graph.sdls)
    assert directive in str(refused.value)
    assert "not supported by this gateway" in str(refused.value)
