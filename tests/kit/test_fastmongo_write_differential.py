"""Differential property tests for FastMongoClient's write path: answers as mongomock does.

FastMongoClient runs inserts, and updates and replaces without upsert, through its own code
(one-pass snapshot and datetime pass). Hypothesis draws sequences of `update_one`,
`update_many`, `replace_one`, `find_one_and_*` (with and without upsert, so both paths run)
and `insert_one` (with and without `_id`) whose values include naive datetimes with
microseconds, aware datetimes, tuples, nested documents and lists; updates that change
values inside sub-documents and arrays in place (`$set` on a dotted path, `$push`), that
change `_id`, empty operators, and unique indexes that collide. Each sequence runs on a
FastMongoClient and on plain mongomock; outcomes (results and errors) and the final
collection must be identical. After every call the test mutates the arguments it passed, so
a store that kept a reference to a caller's value would differ. A replacement carrying
another `_id` is refused by both; mongomock then keeps it applied under the old key (no
server does), so the comparison ends there and the fast client's collection must be what
both held before that call, as MongoDB leaves it.
"""

from __future__ import annotations

import asyncio
import copy
import re
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from bson import ObjectId
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from mongomock_motor import AsyncMongoMockClient
from pymongo import ReturnDocument

from estore.kit.fastmongo import FastMongoClient
from tests.kit.test_fastmongo_differential import Canon

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456)
PARIS = timezone(timedelta(hours=1))

scalars = st.one_of(
    st.none(),
    st.integers(0, 3),
    st.sampled_from(["x", "y", 2.5, True]),
    st.sampled_from([T0, T0 + timedelta(microseconds=999), T0.replace(tzinfo=PARIS)]),
)
flat = st.one_of(scalars, st.lists(scalars, max_size=3), st.lists(scalars, max_size=2).map(tuple))
values = st.one_of(flat, st.dictionaries(st.sampled_from(["c", "d"]), flat, max_size=2))
ids = st.integers(0, 5)
paths = st.sampled_from(["a", "b", "b.c", "u"])


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["id", "field", "range", "all"]))
    if kind == "id":
        return {"_id": draw(ids)}
    if kind == "field":
        return {draw(paths): draw(scalars)}
    if kind == "range":
        return {"t": {"$gte": draw(st.sampled_from([T0, T0.replace(tzinfo=PARIS)]))}}
    return {}


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["$set", "$set", "nested", "$push", "$unset", "$inc", "empty", "id"])
    )
    if kind == "$set":
        return {"$set": {draw(paths): draw(values), "t": draw(scalars)}}
    if kind == "nested":
        # Changes values inside stored sub-documents in place; with `u`, may collide and be
        # rolled back.
        nested = {"b.c": draw(values)}
        return {"$set": draw(st.sampled_from([nested, {**nested, "u": draw(st.integers(0, 6))}]))}
    if kind == "$push":
        return {"$push": {"l": draw(scalars)}}
    if kind == "$unset":
        return {"$unset": {draw(paths): ""}}
    if kind == "$inc":
        return {"$inc": {"n": draw(st.integers(-1, 2))}}
    if kind == "empty":
        return {"$set": {}}
    return {"$set": {"_id": draw(ids)}}


replacements = st.fixed_dictionaries(
    {"a": values}, optional={"u": scalars, "t": scalars, "b": values, "_id": ids}
)
documents = st.fixed_dictionaries(
    {"_id": ids, "a": values, "u": st.integers(0, 6)},
    optional={
        "t": scalars,
        "b": st.one_of(values, st.fixed_dictionaries({"c": flat})),
        "l": st.lists(scalars, max_size=2),
    },
)
upserts = st.booleans()


def _op(name: str, **kwargs: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, dict]]:
    return st.fixed_dictionaries(kwargs).map(lambda drawn: (name, drawn))


operations = st.one_of(
    _op("update_one", filter=filters(), update=updates(), upsert=upserts),
    _op("update_many", filter=filters(), update=updates(), upsert=upserts),
    _op("replace_one", filter=filters(), replacement=replacements, upsert=upserts),
    _op(
        "find_one_and_update",
        filter=filters(),
        update=updates(),
        upsert=upserts,
        return_document=st.sampled_from([ReturnDocument.BEFORE, ReturnDocument.AFTER]),
    ),
    _op("find_one_and_replace", filter=filters(), replacement=replacements),
    _op("insert_one", document=documents),
    _op(
        "insert_one",
        document=documents.map(lambda doc: {k: v for k, v in doc.items() if k != "_id"}),
    ),
)


def _scramble(value: Any) -> None:
    """Change every dict and list inside `value` in place, as a careless caller might."""
    if isinstance(value, dict):
        for item in list(value.values()):
            _scramble(item)
        value["scrambled"] = True
    elif isinstance(value, list):
        for item in value:
            _scramble(item)
        value.append("scrambled")


async def _outcome(collection: Any, name: str, kwargs: dict[str, Any]) -> Any:
    try:
        result = await getattr(collection, name)(**kwargs)
    except Exception as error:  # errors are outcomes to compare too
        return ("error", type(error).__name__, str(error))
    finally:
        _scramble(kwargs)
    for attribute in ("raw_result", "inserted_id"):
        if hasattr(result, attribute):
            return ("ok", getattr(result, attribute))
    return ("ok", result)


REPLACES = {"replace_one", "find_one_and_replace"}
ID_CHANGE_REFUSED = "The _id field cannot be changed"
OBJECT_ID = re.compile(r"\b[0-9a-f]{24}\b")


def _refused_id_change(outcome: Any) -> bool:
    return outcome[0] == "error" and outcome[2].startswith(ID_CHANGE_REFUSED)


class Run(NamedTuple):
    outcomes: list[Any]
    final: list[dict]  # the collection at the end, or just after a refused `_id` change
    before_refusal: list[dict] | None  # the collection just before that refused change


async def _run(client: Any, initial: list[dict], steps: list[tuple[str, dict]]) -> Run:
    canon = Canon()
    collection = client["shop"]["things"]

    async def contents() -> list[dict]:
        found: list[dict] = canon(await collection.find({}).sort("_id").to_list(None))
        return found

    async def outcome(name: str, kwargs: dict[str, Any]) -> Any:
        result = await _outcome(collection, name, kwargs)
        if result[0] == "error":
            # Upserts mint different ObjectIds per client, and messages quote them.
            text = OBJECT_ID.sub(lambda hex_id: str(canon(ObjectId(hex_id[0]))), result[2])
            return (*result[:2], text)
        return canon(result)

    await collection.create_index([("u", 1)], unique=True)
    outcomes = [await outcome("insert_one", {"document": d}) for d in initial]
    for name, kwargs in steps:
        before = await contents() if name in REPLACES else None
        outcomes.append(await outcome(name, copy.deepcopy(kwargs)))
        if _refused_id_change(outcomes[-1]):
            # mongomock keeps the refused replacement under the document's old key, which no
            # server does: the runs are compared up to here.
            return Run(outcomes, await contents(), before)
    return Run(outcomes, await contents(), None)


@seed(20_261_203)
@settings(
    max_examples=200,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    initial=st.lists(documents, min_size=2, max_size=6, unique_by=lambda d: d["_id"]),
    steps=st.lists(operations, min_size=3, max_size=10),
)
def test_updates_and_replaces_match_mongomock(
    initial: list[dict], steps: list[tuple[str, dict]]
) -> None:
    fast = asyncio.run(_run(FastMongoClient(), copy.deepcopy(initial), steps))
    plain = asyncio.run(_run(AsyncMongoMockClient(), copy.deepcopy(initial), steps))
    for number, (got, want) in enumerate(zip(fast.outcomes, plain.outcomes, strict=True)):
        assert got == want, f"outcome {number} differs"
    if plain.before_refusal is None:
        assert fast.final == plain.final
    else:
        # A refused replacement leaves the document as it was, as MongoDB does.
        assert fast.final == plain.before_refusal
