"""Gateway under subgraph failure: only the failed subgraph's fields are nulled, errors located."""

from __future__ import annotations

from estore.gateway.gateway import Gateway
from tests.integration.gateway.gateway_subgraphs import RecordingFetcher


async def test_failed_subgraph_nulls_its_nullable_fields_and_serves_the_rest(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    fetcher.down.add("inventory")
    result = await gateway.execute("{ topProducts(first: 2) { name inStock } }")
    assert result["data"] == {
        "topProducts": [{"name": "Table", "inStock": None}, {"name": "Chair", "inStock": None}]
    }
    assert result["errors"] == [
        {
            "message": "Subgraph 'inventory' failed: inventory refused the connection",
            "path": ["topProducts", 0, "inStock"],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "inventory"},
        }
    ]


async def test_failed_non_null_field_nulls_its_nearest_nullable_parent(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    fetcher.down.add("inventory")
    result = await gateway.execute(
        "{ topProducts(first: 2) { name shippingEstimate } me { email } }"
    )
    # shippingEstimate is Int!: each Product becomes null; the list items are nullable.
    assert result["data"] == {"topProducts": [None, None], "me": {"email": "ada@example.test"}}
    assert [e["path"] for e in result["errors"]] == [["topProducts", 0, "shippingEstimate"]]


async def test_failed_root_subgraph_nulls_only_its_root_fields(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    fetcher.down.add("users")
    result = await gateway.execute('{ me { email } product(upc: "p1") { name } }')
    assert result["data"] == {"me": None, "product": {"name": "Table"}}
    assert result["errors"][0]["path"] == ["me"]
    assert result["errors"][0]["extensions"]["serviceName"] == "users"


async def test_subgraph_errors_are_mapped_to_the_client_path(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    fetcher.store.fail_inventory_for.add("CHR")
    result = await gateway.execute("{ topProducts { upc shippingEstimate } }")
    assert result["data"] == {"topProducts": [{"upc": "p1", "shippingEstimate": 0}, None, None]}
    assert result["errors"] == [
        {
            "message": "no estimate for CHR",
            "path": ["topProducts", index, "shippingEstimate"],
            "extensions": {"code": "DOWNSTREAM_SERVICE_ERROR", "serviceName": "inventory"},
        }
        for index in (1, 2)
    ]


async def test_upstream_failure_nulls_fields_that_depended_on_it(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    fetcher.down.add("products")
    result = await gateway.execute("{ reviews { body product { inStock } } }")
    assert result["data"]["reviews"][0] == {"body": "Sturdy", "product": {"inStock": None}}
    assert fetcher.calls_to("inventory") == []
    assert len(result["errors"]) == 1
    assert result["errors"][0]["extensions"]["serviceName"] == "products"
