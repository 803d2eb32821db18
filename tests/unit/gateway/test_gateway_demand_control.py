"""@cost and @listSize from a supergraph feed the cost limit, sizes given by variables too.

The graph is the parity corpus's `demand_control`. Each field costs 1 unless `@cost` says
otherwise (on it, or on the type it returns); a list multiplies what it selects by its size.
"""

from __future__ import annotations

from typing import Any

import pytest

from estore.gateway.compose import from_supergraph_sdl
from estore.gateway.gateway import Gateway
from estore.gateway.limits import Limits
from tests.parity.graph_corpus import served_graphs

SUPERGRAPH = from_supergraph_sdl(served_graphs()["demand_control"].supergraph())


class NoSubgraphs:
    async def fetch(self, *_: Any) -> dict[str, Any]:
        raise AssertionError("a refused request reached a subgraph")


def gateway(max_cost: int = 10_000) -> Gateway:
    return Gateway(SUPERGRAPH, NoSubgraphs(), Limits(max_cost=max_cost))


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    prepared = gateway().prepare(query)
    assert prepared.analysis is not None, prepared.errors
    return prepared.analysis.cost.value(variables or {})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ featured { id } }", 1 + 3 * 1),  # assumedSize 3
        ("{ products(first: 4) { name reviewsText } }", 1 + 4 * (1 + 20)),  # @cost on a field
        ("{ featured { price { amount } } }", 1 + 3 * (7 + 1)),  # @cost on the type returned
        ("{ search(limit: 10) { total items { id } } }", 1 + 1 + (1 + 10 * 1)),  # sizedFields
        ("{ search { items { id } } }", 1 + (1 + 5 * 1)),  # the slicing argument's default
    ],
)
def test_the_cost_of(query: str, expected: int) -> None:
    assert cost(query) == expected


def test_a_size_given_by_a_variable_is_counted_with_its_value() -> None:
    query = "query($n: Int) { products(first: $n) { name } }"
    assert cost(query, {"n": 50}) == 1 + 50
    assert cost(query, {"n": 7}) == 1 + 7


async def test_a_size_through_a_variable_over_the_limit_is_refused_before_any_fetch() -> None:
    query = "query($n: Int) { products(first: $n) { name } }"
    answer = await gateway(max_cost=60).execute(query, {"n": 100})
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "101" in answer["errors"][0]["message"]


@pytest.mark.parametrize("arguments", ["", "(first: 1, last: 1)"])
async def test_a_list_requiring_one_slicing_argument_refuses_none_or_two(arguments: str) -> None:
    answer = await gateway().execute(f"{{ products{arguments} {{ id }} }}")
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "exactly one of its slicing arguments (first, last)" in error["message"]
