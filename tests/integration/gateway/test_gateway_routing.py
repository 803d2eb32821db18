"""Gateway over strawberry subgraphs: merged answers, entity batching, @requires, @provides."""

from __future__ import annotations

from estore.gateway.gateway import Gateway
from tests.integration.gateway.gateway_subgraphs import RecordingFetcher

ADA = "ada@example.test"
GRACE = "grace@example.test"


async def test_merges_fields_from_four_subgraphs_into_one_answer(gateway: Gateway) -> None:
    result = await gateway.execute(
        "{ topProducts(first: 2) { upc name inStock shippingEstimate "
        "reviews { body author { username email } } } }"
    )
    assert result == {
        "data": {
            "topProducts": [
                {
                    "upc": "p1", "name": "Table", "inStock": True, "shippingEstimate": 0,
                    "reviews": [
                        {"body": "Sturdy", "author": {"username": "ada", "email": ADA}},
                        {"body": "Lovely", "author": {"username": "grace", "email": GRACE}},
                    ],
                },
                {
                    "upc": "p2", "name": "Chair", "inStock": False, "shippingEstimate": 10,
                    "reviews": [
                        {"body": "Wobbly", "author": {"username": "grace", "email": GRACE}},
                        {"body": "Fine", "author": {"username": "ada", "email": ADA}},
                    ],
                },
            ]
        }
    }  # fmt: skip


async def test_sends_one_entities_request_per_subgraph_and_level_with_unique_representations(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    await gateway.execute("{ reviews { body product { name inStock } author { email } } }")
    assert [c.subgraph for c in fetcher.calls].count("reviews") == 1
    products = fetcher.calls_to("products")
    users = fetcher.calls_to("users")
    assert len(products) == 1 and len(users) == 1
    # Four reviews point at two products and two users: each is sent once.
    assert products[0].variables["representations"] == [
        {"__typename": "Product", "upc": "p1"},
        {"__typename": "Product", "upc": "p2"},
    ]
    assert users[0].variables["representations"] == [
        {"__typename": "User", "id": "u1"},
        {"__typename": "User", "id": "u2"},
    ]


async def test_fetches_required_fields_before_the_field_that_requires_them(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    result = await gateway.execute("{ reviews { product { shippingEstimate } } }")
    estimates = [r["product"]["shippingEstimate"] for r in result["data"]["reviews"]]
    assert estimates == [0, 10, 10, 0]
    assert [c.subgraph for c in fetcher.calls] == ["reviews", "products", "inventory"]
    sent = fetcher.calls_to("inventory")[0].variables["representations"]
    assert sent[0] == {
        "__typename": "Product",
        "sku": "TBL",
        "variant": "oak",
        "price": 1200,
        "weight": 30,
    }


async def test_provided_field_is_read_without_a_hop_but_other_fields_hop(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    result = await gateway.execute("{ reviews { author { username } } }")
    assert [r["author"]["username"] for r in result["data"]["reviews"]] == [
        "ada",
        "grace",
        "ada",
        "grace",
    ]
    assert [c.subgraph for c in fetcher.calls] == ["reviews"]
    fetcher.calls.clear()
    await gateway.execute("{ reviews { author { username email } } }")
    assert [c.subgraph for c in fetcher.calls] == ["reviews", "users"]


async def test_shareable_field_is_answered_by_the_subgraph_already_in_use(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    result = await gateway.execute("{ reviews { product { name } } }")
    assert result["data"]["reviews"][0] == {"product": {"name": "Table"}}
    assert [c.subgraph for c in fetcher.calls] == ["reviews"]


async def test_the_same_operation_reuses_its_plan_and_sends_identical_subgraph_text(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    query = "query Top($n: Int!) { topProducts(first: $n) { name inStock } }"
    plan = gateway.plan(query, {"n": 1})
    await gateway.execute(query, {"n": 1})
    await gateway.execute(query, {"n": 3})
    assert gateway.plan(query, {"n": 2}) is plan
    texts = [c.query for c in fetcher.calls_to("products")]
    assert len(texts) == 2 and texts[0] == texts[1]
    assert texts[0].startswith("query Top__products__0($n: Int!)")
    assert [c.variables for c in fetcher.calls_to("products")] == [{"n": 1}, {"n": 3}]


async def test_mutation_runs_then_its_result_is_completed_from_other_subgraphs(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    result = await gateway.execute(
        'mutation { first: setPrice(upc: "p2", price: 2000) { shippingEstimate } '
        'second: setPrice(upc: "p2", price: 100) { price shippingEstimate } }'
    )
    assert result == {
        "data": {"first": {"shippingEstimate": 0}, "second": {"price": 100, "shippingEstimate": 10}}
    }
    assert [c.subgraph for c in fetcher.calls] == ["products", "inventory", "products", "inventory"]


async def test_forwards_headers_to_every_subgraph(
    gateway: Gateway, fetcher: RecordingFetcher
) -> None:
    await gateway.execute("{ me { email reviews { body } } }", headers={"x-user": "u1"})
    assert {c.subgraph for c in fetcher.calls} == {"users", "reviews"}
    assert all(c.headers == {"x-user": "u1"} for c in fetcher.calls)
