"""Error codes as Apollo Gateway reports them: subgraph codes kept, bad variables as user input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from estore.gateway.gateway import Gateway

SHOP = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { coupons: [String!] orders(first: Int!): [String!] }
"""


class CannedFetcher:
    """Answers every subgraph call with one fixed response."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response

    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        return self.response


def _gateway(response: dict[str, Any]) -> Gateway:
    return Gateway.from_sdls({"shop": SHOP}, CannedFetcher(response))


async def test_a_subgraph_error_keeps_the_subgraphs_code_and_names_the_subgraph() -> None:
    refused = {
        "data": {"coupons": None},
        "errors": [
            {"message": "admins only", "path": ["coupons"], "extensions": {"code": "FORBIDDEN"}}
        ],
    }
    answer = await _gateway(refused).execute("{ coupons }")
    [error] = answer["errors"]
    assert error["path"] == ["coupons"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["serviceName"] == "shop"


async def test_a_subgraph_error_without_a_code_is_a_downstream_service_error() -> None:
    broken = {"data": {"coupons": None}, "errors": [{"message": "boom", "path": ["coupons"]}]}
    answer = await _gateway(broken).execute("{ coupons }")
    assert answer["errors"][0]["extensions"] == {
        "code": "DOWNSTREAM_SERVICE_ERROR",
        "serviceName": "shop",
    }


async def test_a_missing_required_variable_is_bad_user_input() -> None:
    gateway = _gateway({"data": {"orders": []}})
    answer = await gateway.execute("query($n: Int!) { orders(first: $n) }", {})
    [error] = answer["errors"]
    assert "data" not in answer
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["locations"] == [{"line": 1, "column": 7}]
