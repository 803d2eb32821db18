"""Differential property tests for FastMongoClient's compiled filters, sorted indexes and TTL.

Each test runs one drawn sequence on a FastMongoClient and on plain mongomock
(AsyncMongoMockClient) and requires the same outcomes (results in order, errors) and the same
final collection:
- filters of every natively compiled operator (`$eq $ne $gt $gte $lt $lte $in $nin $exists
  $regex $options`, literals, `$and $or $nor`), and some that stay mongomock's (`$size`,
  `$all`, `$not`, unknown operators), over nested paths, arrays, sub-documents, missing
  fields and values of mixed BSON types;
- sorted, skipped and limited pages served from declared indexes, with ties, missing fields,
  mixed types, and updates and deletes that move documents within the index in between;
- TTL indexes expiring as the (shared, patched) mongomock clock moves.
"""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from bson import ObjectId
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from mongomock_motor import AsyncMongoMockClient

from estore.kit.fastmongo import FastMongoClient

MISSING = object()
T0 = datetime(2026, 3, 1, 12, 0)
OID = ObjectId("0000000000000000000000a1")

scalars = st.one_of(
    st.none(),
    st.integers(-2, 3),
    st.sampled_from([True, False, 0.5, 2.0, float("nan"), "", "ab", "Abc", "b", OID]),
    st.sampled_from([T0, T0 + timedelta(days=1), T0 - timedelta(seconds=1)]),
)
arrays = st.lists(scalars, max_size=3)
subdocs = st.fixed_dictionaries({}, optional={"c": st.one_of(scalars, arrays), "d": scalars})
values = st.one_of(scalars, scalars, scalars, arrays, subdocs, st.lists(subdocs, max_size=2))


def _document(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not MISSING}


documents = st.builds(
    _document,
    st.fixed_dictionaries(
        {
            "_id": st.integers(0, 40),
            "a": st.one_of(st.just(MISSING), values),
            "b": st.one_of(st.just(MISSING), values),
            "s": st.one_of(st.just(MISSING), st.sampled_from(["p", "q", "Pq", None, 1])),
        }
    ),
)
paths = st.sampled_from(["a", "b", "b.c", "b.d", "s", "_id", "a.0", "zz", "b.c.e"])
good_patterns = st.sampled_from(["^a", "b", "^$", "B"])
patterns = st.one_of(good_patterns, st.just("["))  # "[" does not compile


NATIVE = ["literal", "eq", "ne", "cmp", "cmp2", "in", "nin", "exists", "regex"]


@st.composite
def conditions(draw: st.DrawFn, kinds: tuple[str, ...] = (*NATIVE, "odd")) -> Any:
    kind = draw(st.sampled_from(kinds))
    if kind == "literal":
        return draw(values)
    if kind in ("eq", "ne"):
        return {f"${kind}": draw(values)}
    if kind == "cmp":
        return {draw(st.sampled_from(["$gt", "$gte", "$lt", "$lte"])): draw(scalars)}
    if kind == "cmp2":
        return {"$gte": draw(scalars), "$lt": draw(scalars), "$ne": draw(scalars)}
    if kind in ("in", "nin"):
        return {f"${kind}": draw(st.lists(st.one_of(scalars, arrays), max_size=10))}
    if kind == "exists":
        return {"$exists": draw(st.sampled_from([True, False, 0, 1]))}
    if kind == "regex":
        regex: dict[str, Any] = {"$regex": draw(patterns if "odd" in kinds else good_patterns)}
        if draw(st.booleans()):
            regex["$options"] = draw(st.sampled_from(["i", "", "mx", "q"]))
        if draw(st.booleans()):
            regex = {"$regex": re.compile(draw(st.sampled_from(["^a", "b$"])))}
        return regex
    return draw(
        st.sampled_from(
            [
                {"$size": 2},
                {"$all": ["ab"]},
                {"$not": {"$gt": 1}},
                {"$elemMatch": {"c": 1}},
                {"$bogus": 1},
                {"$in": 5},
                {"$gt": datetime(2026, 1, 1, tzinfo=UTC)},
            ]
        )
    )


def filters(depth: int = 2, native: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Filters; `native` ones only use what compiles to a predicate that cannot raise."""
    kinds = tuple(NATIVE) if native else (*NATIVE, "odd")
    fields = st.dictionaries(paths, conditions(kinds), max_size=3)
    if depth == 0:
        return fields
    logical = st.builds(
        lambda op, clauses: {op: clauses},
        st.sampled_from(["$and", "$or", "$nor"]),
        st.lists(filters(depth - 1, native), min_size=1, max_size=3),
    )
    combined = st.builds(lambda f, g: {**f, **g}, fields, logical)
    return st.one_of(fields, fields, logical, combined)


SETTINGS_BASE = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


async def _attempt(call: Any) -> str:
    """The outcome, comparable across clients: repr keeps NaN equal to itself and key order
    visible; a write's outcome is its raw result (ids are the same on both sides)."""
    try:
        result = await call
    except Exception as error:  # errors are outcomes to compare too
        return f"{type(error).__name__}: {error}"
    raw = getattr(result, "raw_result", None)
    if raw is not None:
        return repr({key: value for key, value in raw.items() if key != "connectionId"})
    if hasattr(result, "acknowledged"):
        return repr(getattr(result, "inserted_id", "ok"))
    return repr(result)


async def _load(collection: Any, initial: list[dict[str, Any]], indexes: list[str]) -> list[str]:
    outcomes = []
    for path in indexes:
        outcomes.append(await _attempt(collection.create_index(path)))
    for document in initial:
        outcomes.append(await _attempt(collection.insert_one(copy.deepcopy(document))))
    return outcomes


async def _filter_outcomes(
    client: Any, initial: list[dict[str, Any]], indexes: list[str], queries: list[dict[str, Any]]
) -> list[str]:
    collection = client["shop"]["things"]
    outcomes = await _load(collection, initial, indexes)
    for query in queries:
        outcomes.append(await _attempt(collection.find(copy.deepcopy(query)).to_list(None)))
        outcomes.append(await _attempt(collection.count_documents(copy.deepcopy(query))))
    return outcomes


def _same(fast: list[str], plain: list[str]) -> None:
    assert len(fast) == len(plain)
    for number, (got, want) in enumerate(zip(fast, plain, strict=True)):
        assert got == want, f"outcome {number} differs"


@seed(20_261_201)
@settings(SETTINGS_BASE, max_examples=250)
@given(
    initial=st.lists(documents, max_size=14),
    indexes=st.lists(st.sampled_from(["a", "b.c", "s"]), max_size=2, unique=True),
    queries=st.lists(filters(), min_size=1, max_size=6),
)
def test_compiled_filters_match_mongomock(
    initial: list[dict[str, Any]], indexes: list[str], queries: list[dict[str, Any]]
) -> None:
    fast = asyncio.run(_filter_outcomes(FastMongoClient(), initial, indexes, queries))
    plain = asyncio.run(_filter_outcomes(AsyncMongoMockClient(), initial, indexes, queries))
    _same(fast, plain)


# --- sorted pages from declared indexes, with writes in between -------------------------------

sort_fields = st.sampled_from(["a", "s", "b.c", "n"])
page_filters = st.one_of(
    st.just({}),
    filters(depth=1, native=True),
    filters(depth=1, native=True),
    filters(depth=1),
    st.sampled_from([{"n": {"$gte": 1}}, {"s": {"$in": ["p", "q"]}}, {"n": 2, "s": "p"}]),
)
page_reads = st.fixed_dictionaries(
    {
        "filter": page_filters,
        "sort": st.lists(
            st.tuples(st.sampled_from(["a", "s", "b.c", "n", "_id"]), st.sampled_from([1, -1])),
            min_size=1,
            max_size=3,
            unique_by=lambda pair: pair[0],
        ),
        "skip": st.integers(0, 3),
        "limit": st.integers(1, 5),
        "projection": st.sampled_from([None, {"a": 1}, {"n": 0}]),
    }
).map(lambda read: ("page", read, None))
writes = st.one_of(
    st.builds(
        lambda f, path, v: ("update_many", f, {"$set": {path: v}}),
        page_filters,
        st.sampled_from(["a", "s", "b.c", "n", "b"]),
        values,
    ),
    st.builds(lambda f, d: ("update_one", f, {"$inc": {"n": d}}), page_filters, st.integers(-2, 2)),
    st.builds(
        lambda f, path: ("update_many", f, {"$unset": {path: ""}}),
        page_filters,
        st.sampled_from(["a", "s", "n", "b"]),
    ),
    st.builds(lambda f: ("delete_one", f, None), page_filters),
    st.builds(lambda doc: ("insert_one", doc, None), documents),
    st.builds(
        lambda f, doc: ("replace_one", f, {k: v for k, v in doc.items() if k != "_id"}),
        page_filters,
        documents,
    ),
)
plain_scalars = scalars.filter(lambda value: value == value)  # no NaN
sortable_documents = st.builds(
    _document,
    st.fixed_dictionaries(
        {
            "_id": st.integers(0, 60),
            # Mostly values with a native sort key; the rest make an index decline to sort.
            "a": st.one_of(st.just(MISSING), plain_scalars, plain_scalars, st.just([]), values),
            "b": st.one_of(st.just(MISSING), subdocs),
            "s": st.one_of(st.just(MISSING), st.sampled_from(["p", "q", "Pq", None, 1])),
            "n": st.one_of(st.just(MISSING), st.integers(0, 3), st.just(1.0)),
        }
    ),
)


async def _step(collection: Any, step: tuple[str, Any, Any]) -> str:
    name, first, second = copy.deepcopy(step)
    if name == "page":
        cursor = collection.find(first["filter"], first["projection"]).sort(first["sort"])
        return await _attempt(cursor.skip(first["skip"]).limit(first["limit"]).to_list(None))
    if name in ("insert_one", "delete_one"):
        return await _attempt(getattr(collection, name)(first))
    return await _attempt(getattr(collection, name)(first, second))


async def _page_outcomes(
    client: Any, initial: list[dict[str, Any]], indexes: list[str], steps: list[Any]
) -> list[str]:
    collection = client["shop"]["things"]
    outcomes = await _load(collection, initial, indexes)
    for step in steps:
        outcomes.append(await _step(collection, step))
    outcomes.append(await _attempt(collection.find({}).to_list(None)))
    return outcomes


@seed(20_261_202)
@settings(SETTINGS_BASE, max_examples=200)
@given(
    initial=st.lists(sortable_documents, min_size=5, max_size=25),
    indexes=st.lists(sort_fields, min_size=2, max_size=4, unique=True),
    steps=st.lists(st.one_of(page_reads, page_reads, writes), min_size=4, max_size=20),
)
def test_pages_from_sorted_indexes_match_mongomock_across_writes(
    initial: list[dict[str, Any]], indexes: list[str], steps: list[Any]
) -> None:
    fast = asyncio.run(_page_outcomes(FastMongoClient(), initial, indexes, steps))
    plain = asyncio.run(_page_outcomes(AsyncMongoMockClient(), initial, indexes, steps))
    _same(fast, plain)


# --- TTL indexes ------------------------------------------------------------------------------

ttl_values = st.one_of(
    st.just(MISSING),
    st.none(),
    st.integers(0, 5).map(lambda minutes: T0 + timedelta(minutes=minutes)),
    st.lists(st.integers(0, 5).map(lambda m: T0 + timedelta(minutes=m)), max_size=2),
    st.sampled_from(["soon", 3, T0.replace(tzinfo=UTC)]),
)
ttl_documents = st.builds(
    _document, st.fixed_dictionaries({"_id": st.integers(0, 30), "at": ttl_values})
)
ttl_steps = st.one_of(
    st.builds(lambda minutes: ("advance", minutes), st.integers(0, 4)),
    st.builds(lambda doc: ("insert", doc), ttl_documents),
    st.builds(
        lambda n, at: ("touch", (n, at)),
        st.integers(0, 30),
        st.one_of(st.just("unset"), ttl_values.filter(lambda value: value is not MISSING)),
    ),
    st.just(("read", None)),
)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def _ttl_outcomes(
    client: Any, initial: list[dict[str, Any]], expiry: int, steps: list[Any], clock: _Clock
) -> list[str]:
    collection = client["shop"]["events"]
    outcomes = await _load(collection, initial, [])
    outcomes.append(await _attempt(collection.create_index("at", expireAfterSeconds=expiry)))
    for name, argument in copy.deepcopy(steps):
        if name == "advance":
            clock.now += timedelta(minutes=argument)
        elif name == "insert":
            outcomes.append(await _attempt(collection.insert_one(argument)))
        elif name == "touch":
            number, at = argument
            change = {"$unset": {"at": ""}} if at == "unset" else {"$set": {"at": at}}
            outcomes.append(await _attempt(collection.update_one({"_id": number}, change)))
        outcomes.append(await _attempt(collection.find({}).to_list(None)))
    return outcomes


def _ttl_run(client: Any, initial: Any, expiry: int, steps: Any) -> list[str]:
    clock = _Clock()
    # Both clients read mongomock's clock (FastMongoClient by default, plain mongomock always).
    with mock.patch("mongomock.utcnow", clock):
        return asyncio.run(_ttl_outcomes(client, initial, expiry, steps, clock))


@seed(20_261_203)
@settings(SETTINGS_BASE, max_examples=150)
@given(
    initial=st.lists(ttl_documents, max_size=12),
    expiry=st.sampled_from([0, 60, 150, 300]),
    steps=st.lists(ttl_steps, min_size=1, max_size=12),
)
def test_ttl_expiry_matches_mongomock(
    initial: list[dict[str, Any]], expiry: int, steps: list[Any]
) -> None:
    fast = _ttl_run(FastMongoClient(), initial, expiry, steps)
    plain = _ttl_run(AsyncMongoMockClient(), initial, expiry, steps)
    _same(fast, plain)
