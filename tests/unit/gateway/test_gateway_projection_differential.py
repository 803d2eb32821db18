"""Differential tests: the compiled projection shapes answers exactly as graphql-core does.

Each drawn answer (a well-formed subgraph answer with a few values replaced by nulls, values
of other kinds, out-of-range numbers, unknown enum values, or removed) is shaped twice: by
`shape_response` with the operation's projection and by graphql-core alone. The two
responses must be equal, and whenever the projection accepts an answer its data must be
graphql-core's with no error. Documents cover aliases, one key selected twice, fragments
(named, inline, on an interface the type implements),
`__typename`, nested lists, non-null fields, enums and a custom scalar.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estore.gateway.execute import Outcome
from estore.gateway.gateway import Gateway, PreparedOperation
from estore.gateway.shape import shape_response

SHOP = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
scalar DateTime
enum Status { OPEN CLOSED }
interface Named { name: String }
type Money { amount: Int! currency: String! }
type Item implements Named @key(fields: "id") {
  id: ID!
  name: String
  price: Money!
  tags: [String!]
  ratings: [Float]
  status: Status
  active: Boolean
  when: DateTime
  children: [Item!]!
}
type Other implements Named { name: String }
type Query { items(first: Int): [Item] item(id: ID!): Item! count: Int named: [Named] }
"""

LISTING = "query Q($n: Int) { items(first: $n) { id name price { amount currency } tags } count }"
MIXED = """
{
  item(id: "1") {
    ...Basics
    id
    first: name
    __typename
    children { id ... on Item { status when } ... on Named { name } }
  }
  a: count
  b: count
}
fragment Basics on Item { id name price { amount } price { currency } }
"""
BY_INTERFACE = "{ items { ... on Named { name } ratings active status } }"
DOCUMENTS = [LISTING, MIXED, BY_INTERFACE]

CHILD = {"id": "c1", "status": "OPEN", "when": "2026-12-03T09:00:00Z", "name": "x"}
ITEM = {
    "id": "1",
    "name": "Lamp",
    "first": "Lamp",
    "__typename": "Item",
    "price": {"amount": 4449, "currency": "EUR"},
    "tags": ["home", "light"],
    "ratings": [4.5, 3.0],
    "status": "CLOSED",
    "active": True,
    "children": [CHILD, {**CHILD, "id": "c2", "status": "CLOSED"}],
}
ANSWER = {"items": [ITEM, {**ITEM, "id": "2"}], "item": ITEM, "count": 2, "a": 2, "b": 3}

odd_values = st.one_of(
    st.none(),
    st.integers(-(2**31) - 1, 2**31),
    st.sampled_from([2**31, -(2**31) - 1, True, False, 1.0, 2.5, float("nan"), float("inf")]),
    st.sampled_from(["", "OPEN", "CLOSED", "open", "12", "Lamp"]),
    st.builds(list),
    st.builds(dict),
    st.lists(st.one_of(st.none(), st.integers(0, 3), st.text(max_size=2)), max_size=3),
    st.builds(lambda: {"amount": 1, "currency": "EUR"}),
)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*at, index))
    return found


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """The well-formed answer with up to four values replaced or removed."""
    answer = copy.deepcopy(ANSWER)
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(answer)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        container: Any = answer
        for step in parents:
            container = container[step]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[last]
        else:
            container[last] = copy.deepcopy(draw(odd_values))
    return answer


class _Unused:
    async def fetch(self, *args: Any) -> dict[str, Any]:
        raise AssertionError("shaping alone is tested here")


GATEWAY = Gateway.from_sdls({"shop": SHOP}, _Unused())


def _prepared(document: str) -> PreparedOperation:
    prepared = GATEWAY.prepare(document)
    assert prepared.document is not None, prepared.errors
    return prepared


def _shaped(document: str, data: dict[str, Any], fast: bool) -> dict[str, Any]:
    prepared = _prepared(document)
    assert prepared.document is not None
    projection = prepared.projection if fast else None
    outcome = Outcome(data=copy.deepcopy(data))
    return shape_response(GATEWAY.schema, prepared.document, None, {}, outcome, projection)


@pytest.mark.parametrize("document", DOCUMENTS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=answers())
def test_the_projection_shapes_as_graphql_core(document: str, answer: dict[str, Any]) -> None:
    expected = _shaped(document, answer, fast=False)
    assert _shaped(document, answer, fast=True) == expected
    projection = _prepared(document).projection
    assert projection is not None
    projected = projection(copy.deepcopy(answer))
    if projected is not None:
        assert expected == {"data": projected}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_well_formed_answer_is_projected(document: str) -> None:
    projection = _prepared(document).projection
    assert projection is not None
    projected = projection(copy.deepcopy(ANSWER))
    assert projected is not None
    assert {"data": projected} == _shaped(document, ANSWER, fast=False)


def test_subgraph_errors_are_kept_beside_projected_data() -> None:
    prepared = _prepared(LISTING)
    assert prepared.document is not None
    error = {"message": "slow", "extensions": {"code": "X", "serviceName": "shop"}}
    outcome = Outcome(data=copy.deepcopy(ANSWER), errors=[error])
    shaped = shape_response(GATEWAY.schema, prepared.document, None, {}, outcome, None)
    outcome = Outcome(data=copy.deepcopy(ANSWER), errors=[error])
    fast = shape_response(GATEWAY.schema, prepared.document, None, {}, outcome, prepared.projection)
    assert fast == shaped
    assert fast["errors"] == [error]


@pytest.mark.parametrize(
    "document",
    [
        'query($on: Boolean!) { item(id: "1") { id name @include(if: $on) } }',
        "{ named { name } }",
        "{ __schema { queryType { name } } }",
    ],
)
def test_documents_the_executor_must_decide_are_not_compiled(document: str) -> None:
    assert _prepared(document).projection is None
