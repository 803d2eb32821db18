"""Differential property tests: FastMongoClient answers every operation as plain mongomock does.

Hypothesis draws indexes, documents and a sequence of operations (equality, `$in` and range
filters on indexed and unindexed, nested and array fields; `$set`, `$unset`, `$inc`,
`$push` updates; upserts, replaces, deletes, find_one_and_*). The same sequence runs on a
FastMongoClient and on an AsyncMongoMockClient; results, errors and the final collection
must be identical. Values come from small domains so that filters hit and uniques collide.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from mongomock_motor import AsyncMongoMockClient
from pymongo import ReturnDocument

from estore.kit.fastmongo import FastMongoClient

MISSING = object()  # marks a field left out of a generated document

ids = st.integers(0, 9)
scalars = st.one_of(
    st.none(),
    st.integers(-1, 3),
    st.sampled_from([True, 1.0, 2.5, "x", "y"]),
)
arrays = st.lists(scalars, max_size=3)
values = st.one_of(scalars, arrays)
tags = st.lists(st.sampled_from(["red", "green", "blue"]), max_size=3)
# Both key orders: the matcher's dict equality ignores order, and so must the index.
common_subdocs = st.sampled_from([{"c": 1, "d": "x"}, {"d": "x", "c": 1}, {"c": [1, "x"]}])
subdocs = st.one_of(
    common_subdocs,
    st.fixed_dictionaries({"c": values}, optional={"d": scalars}),
    st.builds(lambda d, c: {"d": d, "c": c}, scalars, values),
)
b_values = st.one_of(common_subdocs, subdocs, st.lists(subdocs, max_size=2), scalars)

# Field path -> strategy for values found there (and used in filters and updates).
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "_id": ids,
    "a": values,
    "b.c": values,
    "b": b_values,
    "tags": st.one_of(tags, st.sampled_from(["red", "green"])),
    "s": st.sampled_from(["p", "q", "r"]),
}

INDEXES: list[list[tuple[str, int]]] = [
    [("a", 1)],
    [("b", 1)],
    [("b.c", 1)],
    [("tags", 1)],
    [("s", 1)],
    [("a", 1), ("s", -1)],
    [("b.c", 1), ("tags", 1)],
]

documents = st.builds(
    lambda _id, a, b, tags_, s: {
        k: v
        for k, v in {"_id": _id, "a": a, "b": b, "tags": tags_, "s": s}.items()
        if v is not MISSING
    },
    ids,
    st.one_of(st.just(MISSING), values),
    st.one_of(st.just(MISSING), b_values),
    st.one_of(st.just(MISSING), tags),
    st.one_of(st.just(MISSING), FIELD_VALUES["s"]),
)


@st.composite
def conditions(draw: st.DrawFn, path: str) -> Any:
    value = FIELD_VALUES[path]
    kind = draw(st.sampled_from(["literal", "literal", "eq", "in", "gte", "ne", "exists"]))
    if kind == "literal":
        return draw(value)
    if kind == "eq":
        return {"$eq": draw(value)}
    if kind == "in":
        return {"$in": draw(st.lists(value, min_size=1, max_size=3))}
    if kind == "gte":
        return {"$gte": draw(scalars)}
    if kind == "ne":
        return {"$ne": draw(value)}
    return {"$exists": draw(st.booleans())}


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    paths = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True))
    query = {path: draw(conditions(path)) for path in paths}
    if len(query) > 1 and draw(st.booleans()):
        return {"$and": [{path: condition} for path, condition in query.items()]}
    return query


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(
        st.lists(
            st.sampled_from(["$set", "$unset", "$inc", "$push"]),
            min_size=1,
            max_size=2,
            unique=True,
        )
    )
    # Distinct paths per operator so mongomock never sees conflicting paths.
    paths = iter(draw(st.permutations(["a", "b.c", "b", "s", "tags"])))
    update: dict[str, Any] = {}
    for kind in kinds:
        path = "a" if kind == "$inc" else "tags" if kind == "$push" else next(paths)
        if kind == "$set":
            update[kind] = {path: draw(FIELD_VALUES[path])}
        elif kind == "$unset":
            update[kind] = {path: ""}
        elif kind == "$inc":
            update[kind] = {path: draw(st.integers(-1, 2))}
        else:
            update[kind] = {path: draw(st.sampled_from(["red", "blue"]))}
    if "a" in update.get("$set", {}) or "a" in update.get("$unset", {}):
        update.pop("$inc", None)
    if "tags" in update.get("$set", {}) or "tags" in update.get("$unset", {}):
        update.pop("$push", None)
    return update


sorts = st.one_of(
    st.none(),
    st.lists(
        st.tuples(st.sampled_from(["_id", "a", "s", "b.c"]), st.sampled_from([1, -1])),
        min_size=1,
        max_size=2,
        unique_by=lambda item: item[0],
    ),
)
projections = st.one_of(st.none(), st.sampled_from([{"a": 1}, {"tags": 0}, {"_id": 0, "s": 1}]))
replacements = documents.map(lambda doc: {k: v for k, v in doc.items() if k != "_id"})
returns = st.sampled_from([ReturnDocument.BEFORE, ReturnDocument.AFTER])


def _op(name: str, **kwargs: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, dict]]:
    return st.fixed_dictionaries(kwargs).map(lambda drawn: (name, drawn))


operations = st.one_of(
    _op("insert_one", document=documents),
    _op(
        "insert_many", documents=st.lists(documents, min_size=1, max_size=4), ordered=st.booleans()
    ),
    _op(
        "find",
        filter=filters(),
        sort=sorts,
        skip=st.integers(0, 2),
        limit=st.integers(0, 3),
        projection=projections,
    ),
    _op("find_one", filter=filters()),
    _op("count_documents", filter=filters()),
    _op("update_one", filter=filters(), update=updates(), upsert=st.booleans()),
    _op("update_many", filter=filters(), update=updates(), upsert=st.booleans()),
    _op("replace_one", filter=filters(), replacement=replacements, upsert=st.booleans()),
    _op("delete_one", filter=filters()),
    _op("delete_many", filter=filters()),
    _op(
        "find_one_and_update",
        filter=filters(),
        update=updates(),
        sort=sorts,
        projection=projections,
        return_document=returns,
        upsert=st.booleans(),
    ),
    _op(
        "find_one_and_replace",
        filter=filters(),
        replacement=replacements,
        sort=sorts,
        return_document=returns,
        upsert=st.booleans(),
    ),
    _op("find_one_and_delete", filter=filters(), sort=sorts, projection=projections),
    _op("create_index", keys=st.sampled_from(INDEXES), unique=st.booleans()),
)


@dataclass
class Canon:
    """Renames ObjectIds by order of first appearance: upserts mint different ones per client."""

    names: dict[ObjectId, str] = field(default_factory=dict)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, ObjectId):
            return self.names.setdefault(value, f"oid-{len(self.names)}")
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items() if k != "connectionId"}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


async def _apply(collection: Any, name: str, kwargs: dict[str, Any]) -> Any:
    kwargs = copy.deepcopy(kwargs)
    if name == "find":
        cursor = collection.find(kwargs["filter"], kwargs["projection"])
        if kwargs["sort"]:
            cursor = cursor.sort(kwargs["sort"])
        return await cursor.skip(kwargs["skip"]).limit(kwargs["limit"]).to_list(None)
    if name == "create_index":
        return await collection.create_index(kwargs.pop("keys"), **kwargs)
    result = await getattr(collection, name)(**kwargs)
    for attribute in ("raw_result", "inserted_ids", "inserted_id"):
        if hasattr(result, attribute):
            return getattr(result, attribute)
    return result


async def _run(
    client: Any,
    indexes: list[tuple[list[tuple[str, int]], bool]],
    initial: list[dict],
    steps: list[tuple[str, dict]],
) -> tuple[list[Any], list[Any]]:
    canon = Canon()
    collection = client["shop"]["things"]
    outcomes: list[Any] = []
    for keys, unique in indexes:
        outcomes.append(
            await _outcome(collection, "create_index", {"keys": keys, "unique": unique})
        )
    for document in initial:
        outcomes.append(await _outcome(collection, "insert_one", {"document": document}))
    for name, kwargs in steps:
        outcomes.append(await _outcome(collection, name, kwargs))
    final = await collection.find({}).to_list(None)
    return canon(outcomes), canon(final)


async def _outcome(collection: Any, name: str, kwargs: dict[str, Any]) -> Any:
    try:
        return ("ok", await _apply(collection, name, kwargs))
    except Exception as error:  # errors are outcomes to compare too
        return ("error", type(error).__name__, str(error), getattr(error, "details", None))


def _compare(indexes: Any, initial: Any, steps: Any) -> None:
    fast = asyncio.run(_run(FastMongoClient(), indexes, initial, steps))
    plain = asyncio.run(_run(AsyncMongoMockClient(), indexes, initial, steps))
    fast_outcomes, fast_final = fast
    plain_outcomes, plain_final = plain
    for number, (got, want) in enumerate(zip(fast_outcomes, plain_outcomes, strict=True)):
        assert got == want, f"outcome {number} differs"
    assert fast_final == plain_final


index_choices = st.lists(st.tuples(st.sampled_from(INDEXES), st.booleans()), max_size=3)


@seed(20_240_601)
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    indexes=index_choices,
    initial=st.lists(documents, min_size=3, max_size=12),
    steps=st.lists(operations, min_size=5, max_size=30),
)
def test_fast_client_matches_mongomock_on_random_operation_sequences(
    indexes: list[tuple[list[tuple[str, int]], bool]],
    initial: list[dict],
    steps: list[tuple[str, dict]],
) -> None:
    _compare(indexes, initial, steps)


lookup_filters = st.one_of(
    st.builds(lambda path, v: {path: v}, st.sampled_from(["a", "b.c", "tags", "_id"]), values),
    st.builds(lambda v: {"b": v}, b_values),
    st.builds(
        lambda path, vs: {path: {"$in": vs}},
        st.sampled_from(["a", "b.c", "tags"]),
        st.lists(values, min_size=1, max_size=3),
    ),
)


@seed(20_240_602)
@settings(max_examples=150, deadline=None, database=None, print_blob=True)
@given(
    initial=st.lists(documents, min_size=10, max_size=30),
    queries=st.lists(lookup_filters, min_size=5, max_size=15),
)
def test_indexed_equality_lookups_match_mongomock_on_nested_and_array_values(
    initial: list[dict], queries: list[dict]
) -> None:
    # Every lookup here is narrowed by an index on the fast side: the sharpest check of
    # multikey, null and nested-path filing.
    indexes = [([(path, 1)], False) for path in ("a", "b", "b.c", "tags")]
    steps = [
        ("find", {"filter": q, "sort": None, "skip": 0, "limit": 0, "projection": None})
        for q in queries
    ]
    _compare(indexes, initial, steps)
