"""Gateway settings: the subgraph list and limits come from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from estore.cluster import Cluster
from estore.gateway.settings import GatewaySettings


def test_the_subgraph_list_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_SUBGRAPHS", " auth, product ,auth,")
    monkeypatch.setenv("GATEWAY_MAX_DEPTH", "5")
    monkeypatch.setenv("GATEWAY_INTROSPECTION", "false")
    settings = GatewaySettings.load()
    assert settings.subgraph_names == ("auth", "product")
    assert settings.limits.max_depth == 5
    assert settings.limits.introspection is False
    assert settings.port == 3000


def test_a_subgraph_the_gateway_has_no_client_for_is_refused_at_build() -> None:
    with pytest.raises(ValueError, match="GATEWAY_SUBGRAPHS names \\['ticket'\\]"):
        Cluster(services=["auth", "gateway"], overrides={"gateway_subgraphs": "auth,ticket"})


def test_the_list_maximum_is_500_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings.load().limits.max_list_items == 500
    monkeypatch.setenv("GATEWAY_MAX_LIST_ITEMS", "20")
    assert GatewaySettings.load().limits.max_list_items == 20


def test_subgraph_urls_are_read_as_name_equals_url() -> None:
    settings = GatewaySettings.load(gateway_subgraph_urls="a=http://h:1/graphql, b=https://x/y")
    assert settings.subgraph_urls == {"a": "http://h:1/graphql", "b": "https://x/y"}
    assert settings.serves_any_graph


def test_a_subgraph_url_entry_without_a_url_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="expected name=http"):
        GatewaySettings.load(gateway_subgraph_urls="a=http://h/graphql,b")
