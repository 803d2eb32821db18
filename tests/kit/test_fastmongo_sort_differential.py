"""Differential property tests: sorted, paged and projected finds return what plain mongomock does.

FastMongoClient's cursor filters the stored documents, orders them by its own sort keys (or
mongomock's, for exotic values) and copies only the page; plain mongomock copies and sorts
everything. Hypothesis draws documents whose sort fields are missing, null, of mixed BSON
types, nested, arrays (empty too), NaN, documents and datetimes, then random one- or two-key
sorts, skips, limits and projections; both clients must return the same documents in the
same order, or fail alike.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from mongomock_motor import AsyncMongoMockClient

from estore.kit.fastmongo import FastMongoClient

MISSING = object()
OIDS = [ObjectId(f"{n:024x}") for n in (1, 2, 3)]

scalars = st.one_of(
    st.none(),
    st.integers(-2, 2),
    st.sampled_from([True, False, 0.0, -0.0, 1.5, -1.5, float("nan"), "", "a", "B", "b"]),
    st.sampled_from(
        [datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 1, 5000), datetime(2025, 6, 1)]
    ),
    st.sampled_from(OIDS),
)
arrays = st.lists(scalars, max_size=3)
subdocs = st.fixed_dictionaries({}, optional={"c": st.one_of(scalars, arrays), "d": scalars})
values = st.one_of(scalars, scalars, arrays, subdocs, st.lists(subdocs, max_size=2))

documents = st.builds(
    lambda fields: {k: v for k, v in fields.items() if v is not MISSING},
    st.fixed_dictionaries(
        {
            "_id": st.one_of(st.integers(0, 30), st.sampled_from(["x", "y", "z"])),
            "a": st.one_of(st.just(MISSING), values),
            "b": st.one_of(st.just(MISSING), values),
            "n": st.one_of(st.just(MISSING), st.integers(0, 3)),
        }
    ),
)

# Sort values of native-path types only (arrays of them too), with distinct ids.
plain_scalars = scalars.filter(lambda value: value == value)
plain_documents = st.builds(
    lambda fields: {k: v for k, v in fields.items() if v is not MISSING},
    st.fixed_dictionaries(
        {
            "_id": st.uuids().map(str),
            "a": st.one_of(
                st.just(MISSING), st.just([]), plain_scalars, st.lists(plain_scalars, max_size=2)
            ),
            "b": st.one_of(st.just(MISSING), st.fixed_dictionaries({"c": plain_scalars})),
            "n": st.one_of(st.just(MISSING), st.integers(0, 3)),
        }
    ),
)

sort_paths = st.sampled_from(["a", "b", "b.c", "b.d", "a.0", "_id", "n", "zz"])
filters = st.sampled_from(
    [{}, {"n": 1}, {"n": {"$in": [0, 2]}}, {"n": {"$gte": 1}}, {"a": {"$exists": True}}, {"_id": 3}]
)
projections = st.sampled_from(
    [None, {}, {"a": 1}, {"a": 0}, {"_id": 0, "b.c": 1}, {"b": 0, "_id": 1}, ["n"],
     {"a": 1, "n": 0}, {"a": {"$slice": 1}}, {"b.$": 1}]
)  # fmt: skip


def _finds(paths: st.SearchStrategy[str], filters: st.SearchStrategy[dict]) -> st.SearchStrategy:
    sorts = st.one_of(
        st.none(),
        st.lists(st.tuples(paths, st.sampled_from([1, -1])), min_size=1, max_size=2),
        st.just([("$natural", -1)]),
    )
    return st.fixed_dictionaries(
        {
            "filter": filters,
            "sort": sorts,
            "skip": st.integers(0, 4),
            "limit": st.integers(-3, 5),
            "projection": projections,
            "how": st.sampled_from(["to_list", "find_one", "count", "iterate"]),
        }
    )


finds = _finds(sort_paths, filters)
plain_finds = _finds(
    st.sampled_from(["a", "a", "b.c", "n", "_id"]),
    st.sampled_from([{}, {}, {"n": {"$gte": 1}}, {"a": {"$exists": True}}]),
)


async def _query(collection: Any, query: dict[str, Any]) -> Any:
    query = copy.deepcopy(query)
    if query["how"] == "count":
        return await collection.count_documents(query["filter"])
    if query["how"] == "find_one":
        return await collection.find_one(
            query["filter"], query["projection"], sort=query["sort"], skip=query["skip"]
        )
    cursor = collection.find(query["filter"], query["projection"])
    if query["sort"]:
        cursor = cursor.sort(query["sort"])
    cursor = cursor.skip(query["skip"]).limit(query["limit"])
    if query["how"] == "iterate":
        return [document async for document in cursor]
    return await cursor.to_list(None)


async def _run(client: Any, initial: list[dict], queries: list[dict]) -> list[str]:
    collection = client["shop"]["things"]
    await collection.create_index("n")
    outcomes = []
    for document in initial:
        try:
            await collection.insert_one(copy.deepcopy(document))
        except Exception as error:  # duplicate ids: an outcome like any other
            outcomes.append(type(error).__name__)
    for query in queries:
        try:
            outcomes.append(repr(await _query(collection, query)))
        except Exception as error:
            outcomes.append(f"{type(error).__name__}: {error}")
    return outcomes


def _compare(initial: list[dict], queries: list[dict], tz_aware: bool) -> None:
    # repr, not ==: NaN is unequal to itself, and key order must agree too.
    fast = asyncio.run(_run(FastMongoClient(tz_aware=tz_aware), initial, queries))
    plain = asyncio.run(_run(AsyncMongoMockClient(tz_aware=tz_aware), initial, queries))
    for number, (got, want) in enumerate(zip(fast, plain, strict=True)):
        assert got == want, f"outcome {number} differs"


@seed(20_261_124)
@settings(
    max_examples=120,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    initial=st.lists(documents, min_size=0, max_size=14),
    queries=st.lists(finds, min_size=1, max_size=12),
    tz_aware=st.booleans(),
)
def test_sorted_paged_projected_finds_match_mongomock(
    initial: list[dict], queries: list[dict], tz_aware: bool
) -> None:
    _compare(initial, queries, tz_aware)


@seed(20_261_125)
@settings(max_examples=100, deadline=None, database=None, print_blob=True)
@given(
    initial=st.lists(plain_documents, min_size=5, max_size=25),
    queries=st.lists(plain_finds, min_size=1, max_size=8),
)
def test_pages_over_plain_values_match_mongomock(initial: list[dict], queries: list[dict]) -> None:
    # Scalar-only documents keep every sort on the native path rather than the fallback.
    _compare(initial, queries, tz_aware=True)
