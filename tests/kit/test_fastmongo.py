"""FastMongoClient behaviour: lookups examine few documents; every write keeps the indexes right.

The oracle for "right" is mongomock itself: wrapping a filter in `$or` pins no field, so
FastMongoClient answers it by mongomock's own scan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from bson import ObjectId
from mongomock import filtering
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from estore.kit.fastmongo import FastMongoClient, predicate
from estore.kit.fastmongo import client as fastmongo_client
from estore.kit.fastmongo import cursor as fastmongo_cursor

SIZE = 1_000

Collection = Any  # the motor-shaped async collection


class Examined:
    """Counts documents put to mongomock's matcher: the work a query does."""

    def __init__(self) -> None:
        self.count = 0
        self.depth = 0  # $and/$or clauses re-enter the matcher for the same document

    def reset(self) -> None:
        self.count = 0


@pytest.fixture
def examined(monkeypatch: pytest.MonkeyPatch) -> Iterator[Examined]:
    """Counts documents put to a filter: to mongomock's matcher or to a compiled predicate."""
    counter = Examined()

    def counting(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
        def counted(document: Any) -> bool:
            counter.count += counter.depth == 0
            counter.depth += 1
            try:
                return test(document)
            finally:
                counter.depth -= 1

        return counted

    real_apply: Callable[[Any, Any], bool] = filtering._filterer_inst.apply
    monkeypatch.setattr(
        filtering._filterer_inst,
        "apply",
        lambda query, doc: counting(lambda d: real_apply(query, d))(doc),
    )

    def counting_compile(query: Any) -> predicate.Predicate | None:
        compiled = predicate.compile_filter(query)
        if compiled is None:
            return None
        return predicate.Predicate(counting(compiled.test), compiled.total)

    for module in (fastmongo_client, fastmongo_cursor):
        monkeypatch.setattr(module, "compile_filter", counting_compile)
    yield counter


def _order(number: int) -> dict[str, Any]:
    return {
        "_id": number,
        "sku": f"sku-{number}",
        "customer": {"id": f"c{number % 10}"},
        "status": "PAID" if number % 2 else "NEW",
        "tags": [f"t{number % 3}", f"t{number % 5}"],
        "n": number,
    }


@pytest.fixture
async def orders() -> AsyncIterator[Collection]:
    collection = FastMongoClient()["shop"]["orders"]
    await collection.create_index("sku", unique=True)
    await collection.create_index("customer.id")
    await collection.create_index([("status", 1), ("customer.id", 1)])
    await collection.create_index("tags")
    await collection.insert_many([_order(n) for n in range(SIZE)])
    yield collection


async def _assert_agrees_with_scan(collection: Collection, query: dict[str, Any]) -> list[Any]:
    indexed = await collection.find(query).to_list(None)
    scanned = await collection.find({"$or": [query]}).to_list(None)
    assert indexed == scanned
    return indexed


# --- lookups use the index -------------------------------------------------------------


async def test_find_one_by_id_examines_only_that_document(
    orders: Collection, examined: Examined
) -> None:
    found = await orders.find_one({"_id": 700})
    assert found == _order(700)
    assert examined.count == 1


async def test_find_one_by_unique_field_examines_only_that_document(
    orders: Collection, examined: Examined
) -> None:
    assert await orders.find_one({"sku": {"$eq": "sku-321"}}) == _order(321)
    assert examined.count == 1


async def test_dotted_field_lookup_examines_only_its_bucket(
    orders: Collection, examined: Examined
) -> None:
    found = await orders.find({"customer.id": "c3"}).to_list(None)
    assert [doc["_id"] for doc in found] == list(range(3, SIZE, 10))
    assert examined.count == SIZE // 10


async def test_compound_index_is_used_when_all_its_fields_are_pinned(
    orders: Collection, examined: Examined
) -> None:
    # customer.id alone has 100 candidates; with status pinned the compound index has 50.
    count = await orders.count_documents({"status": "NEW", "customer.id": "c4"})
    assert count == 100 // 2 * 2  # every c4 order (number % 10 == 4) is even, hence NEW
    assert examined.count == count


async def test_in_and_and_clauses_narrow_and_keep_natural_order(
    orders: Collection, examined: Examined
) -> None:
    found = await orders.find(
        {"$and": [{"_id": {"$in": [900, 5, 42]}}, {"status": {"$in": ["NEW", "PAID"]}}]}
    ).to_list(None)
    assert [doc["_id"] for doc in found] == [5, 42, 900]
    assert examined.count == 3


async def test_array_field_matches_each_element(orders: Collection, examined: Examined) -> None:
    found = await orders.find({"tags": "t4"}).to_list(None)
    assert [doc["_id"] for doc in found] == [n for n in range(SIZE) if n % 5 == 4]
    assert examined.count == len(found)


async def test_unindexed_filters_fall_back_to_mongomocks_scan(
    orders: Collection, examined: Examined
) -> None:
    for query in (
        {"n": 7},
        {"sku": {"$regex": "^sku-7$"}},
        {"$or": [{"_id": 7}]},
        {"_id": {"$gte": 999}},
    ):
        examined.reset()
        found = await orders.find(query).to_list(None)
        assert [doc["_id"] for doc in found] in ([7], [999])
        assert examined.count >= SIZE


async def test_null_lookup_on_an_indexed_field_finds_missing_and_null(orders: Collection) -> None:
    await orders.insert_one({"_id": "no-customer", "sku": "x"})
    await orders.insert_one({"_id": "null-customer", "sku": "y", "customer": {"id": None}})
    found = await _assert_agrees_with_scan(orders, {"customer.id": None})
    assert [doc["_id"] for doc in found] == ["no-customer", "null-customer"]


async def test_empty_document_filter_finds_missing_fields_as_mongomock_does(
    orders: Collection,
) -> None:
    await orders.create_index("note")
    await orders.update_one({"_id": 7}, {"$set": {"note": {}}})
    await orders.update_one({"_id": 8}, {"$set": {"note": None}})
    found = await _assert_agrees_with_scan(orders, {"note": {}})
    assert len(found) == SIZE - 1  # all but the null one


async def test_objectid_matches_its_hex_string_in_an_array_as_mongomock_does(
    orders: Collection,
) -> None:
    oid = ObjectId()
    await orders.insert_one({"_id": "hex", "sku": "hex", "tags": [str(oid)]})
    found = await _assert_agrees_with_scan(orders, {"tags": oid})
    assert [doc["_id"] for doc in found] == ["hex"]


async def test_cursor_sort_skip_limit_and_async_for_over_an_index(orders: Collection) -> None:
    cursor = orders.find({"customer.id": "c7"}, {"n": 1}).sort("n", -1).skip(2).limit(3)
    seen = [doc async for doc in cursor]
    assert seen == [{"_id": n, "n": n} for n in (977, 967, 957)]


async def test_sorted_limited_find_copies_only_the_page(
    orders: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[Any] = []
    real_copy = fastmongo_cursor.copied

    def counting_copy(doc: Any, aware: bool) -> Any:
        copied.append(doc["_id"])
        return real_copy(doc, aware)

    monkeypatch.setattr(fastmongo_cursor, "copied", counting_copy)
    page = orders.find({"n": {"$gte": 10}}).sort([("status", 1), ("n", -1)]).limit(3)
    found = await page.skip(1).to_list(None)
    assert [doc["_id"] for doc in found] == [996, 994, 992]
    assert copied == [996, 994, 992]


# --- unique indexes --------------------------------------------------------------------


async def test_duplicate_insert_raises_and_stores_nothing(orders: Collection) -> None:
    with pytest.raises(DuplicateKeyError):
        await orders.insert_one({"_id": "dup", "sku": "sku-5"})
    assert await orders.find_one({"_id": "dup"}) is None
    assert await orders.count_documents({"sku": "sku-5"}) == 1


async def test_unique_check_on_insert_examines_few_documents(
    orders: Collection, examined: Examined
) -> None:
    await orders.insert_one(_order(SIZE))
    assert examined.count <= 2


async def test_insert_many_stops_at_the_duplicate_like_pymongo(orders: Collection) -> None:
    batch = [_order(SIZE), {"_id": "dup", "sku": "sku-1"}, _order(SIZE + 1)]
    with pytest.raises(BulkWriteError) as raised:
        await orders.insert_many(batch)
    assert raised.value.details["writeErrors"][0]["code"] == 11000
    assert await orders.find_one({"sku": f"sku-{SIZE}"}) is not None
    assert await orders.find_one({"_id": "dup"}) is None
    assert await orders.find_one({"sku": f"sku-{SIZE + 1}"}) is None


async def test_update_to_a_taken_value_raises_and_rolls_back(orders: Collection) -> None:
    with pytest.raises(DuplicateKeyError):
        await orders.update_one({"_id": 1}, {"$set": {"sku": "sku-2", "n": -1}})
    assert await orders.find_one({"sku": "sku-1"}) == _order(1)
    assert [doc["_id"] for doc in await orders.find({"sku": "sku-2"}).to_list(None)] == [2]


async def test_upsert_that_collides_raises_and_inserts_nothing(orders: Collection) -> None:
    with pytest.raises(DuplicateKeyError):
        await orders.update_one({"_id": "new"}, {"$set": {"sku": "sku-3"}}, upsert=True)
    assert await orders.find_one({"_id": "new"}) is None
    assert await orders.count_documents({}) == SIZE


async def test_unique_value_is_free_again_after_delete(orders: Collection) -> None:
    await orders.delete_one({"sku": "sku-9"})
    await orders.insert_one({"_id": "again", "sku": "sku-9"})
    assert await orders.find_one({"sku": "sku-9"}) == {"_id": "again", "sku": "sku-9"}


# --- every write path keeps the indexes right -------------------------------------------


async def test_update_moves_the_document_between_buckets(orders: Collection) -> None:
    await orders.update_many({"customer.id": "c1"}, {"$set": {"customer.id": "moved"}})
    assert await orders.count_documents({"customer.id": "c1"}) == 0
    moved = await _assert_agrees_with_scan(orders, {"customer.id": "moved"})
    assert len(moved) == SIZE // 10


async def test_array_updates_refile_elements(orders: Collection) -> None:
    await orders.update_one({"_id": 0}, {"$push": {"tags": "fresh"}})
    await orders.update_one({"_id": 1}, {"$pull": {"tags": "t1"}})
    assert [doc["_id"] for doc in await orders.find({"tags": "fresh"}).to_list(None)] == [0]
    await _assert_agrees_with_scan(orders, {"tags": "t1"})
    assert 1 not in [doc["_id"] for doc in await orders.find({"tags": "t1"}).to_list(None)]


async def test_unset_files_the_document_under_null(orders: Collection) -> None:
    await orders.update_one({"_id": 11}, {"$unset": {"customer": ""}})
    found = await _assert_agrees_with_scan(orders, {"customer.id": {"$in": [None]}})
    assert [doc["_id"] for doc in found] == [11]


async def test_update_that_fails_halfway_keeps_what_mongomock_kept(orders: Collection) -> None:
    # mongomock applies $set, then fails on $inc of a string (a TypeError, where a server
    # would send a WriteError), and keeps the $set.
    with pytest.raises(TypeError):
        await orders.update_one({"_id": 12}, {"$set": {"customer.id": "half"}, "$inc": {"sku": 1}})
    await _assert_agrees_with_scan(orders, {"customer.id": "half"})
    await _assert_agrees_with_scan(orders, {"customer.id": "c2"})


async def test_upsert_files_the_new_document(orders: Collection) -> None:
    result = await orders.update_one(
        {"sku": "brand-new"}, {"$set": {"customer": {"id": "c-new"}}}, upsert=True
    )
    found = await orders.find_one({"customer.id": "c-new"})
    assert found is not None and found["_id"] == result.upserted_id
    assert found["sku"] == "brand-new"


async def test_replace_one_refiles_every_index(orders: Collection) -> None:
    await orders.replace_one({"sku": "sku-20"}, {"sku": "replaced", "tags": ["only"]})
    assert await orders.find_one({"sku": "sku-20"}) is None
    assert await orders.find_one({"sku": "replaced"}) == {
        "_id": 20,
        "sku": "replaced",
        "tags": ["only"],
    }
    assert await orders.find_one({"tags": "only"}) is not None
    assert 20 not in [doc["_id"] for doc in await orders.find({"customer.id": "c0"}).to_list(None)]


@pytest.mark.parametrize("replace", ["replace_one", "find_one_and_replace"])
async def test_replacement_with_another_id_is_refused_and_changes_nothing(
    orders: Collection, replace: str
) -> None:
    with pytest.raises(OperationFailure, match="_id field cannot be changed"):
        await getattr(orders, replace)({"sku": "sku-30"}, {"_id": 5_000, "sku": "moved"})
    assert await orders.find_one({"_id": 30}) == _order(30)
    assert await orders.find_one({"sku": "moved"}) is None
    assert await orders.find_one({"_id": 5_000}) is None


async def test_find_one_and_modify_paths(orders: Collection) -> None:
    after = await orders.find_one_and_update(
        {"customer.id": "c5"},
        {"$set": {"sku": "sku-renamed"}},
        sort=[("n", -1)],
        projection={"sku": 1},
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"_id": 995, "sku": "sku-renamed"}
    before = await orders.find_one_and_replace({"sku": "sku-renamed"}, {"sku": "sku-995"})
    assert before is not None and before["sku"] == "sku-renamed"
    deleted = await orders.find_one_and_delete({"sku": "sku-995"}, projection={"_id": 1})
    assert deleted == {"_id": 995}
    assert await orders.find_one({"_id": 995}) is None
    assert await orders.count_documents({"customer.id": "c5"}) == SIZE // 10 - 1


async def test_delete_many_by_index_and_by_everything(orders: Collection) -> None:
    result = await orders.delete_many({"tags": {"$in": ["t0"]}})
    assert result.deleted_count == len([n for n in range(SIZE) if 0 in (n % 3, n % 5)])
    assert await orders.find({"tags": "t0"}).to_list(None) == []
    await orders.delete_many({})
    assert await orders.find_one({"_id": 1}) is None
    await orders.insert_one(_order(1))
    assert await orders.find_one({"sku": "sku-1"}) == _order(1)


async def test_drop_forgets_documents_and_indexes(orders: Collection) -> None:
    await orders.drop()
    await orders.insert_many([{"_id": 1, "sku": "same"}, {"_id": 2, "sku": "same"}])
    found = await orders.find({"sku": "same"}).to_list(None)
    assert [doc["_id"] for doc in found] == [1, 2]


async def test_dropped_index_stops_unique_checks_and_lookups_still_agree(
    orders: Collection,
) -> None:
    await orders.drop_index("sku_1")
    await orders.insert_one({"_id": "twin", "sku": "sku-1"})
    assert len(await _assert_agrees_with_scan(orders, {"sku": "sku-1"})) == 2
    await orders.drop_indexes()
    await _assert_agrees_with_scan(orders, {"customer.id": "c1"})


async def test_index_created_after_the_data_files_existing_documents(
    orders: Collection, examined: Examined
) -> None:
    await orders.create_index("n")
    examined.reset()
    assert await orders.find_one({"n": 444}) == _order(444)
    assert examined.count == 1


async def test_create_unique_index_over_duplicates_is_refused(orders: Collection) -> None:
    with pytest.raises(DuplicateKeyError):
        await orders.create_index("status", unique=True)


async def test_renamed_collection_keeps_its_indexes(orders: Collection) -> None:
    await orders.rename("archive")
    archive = orders.database["archive"]
    assert await archive.find_one({"sku": "sku-8"}) == _order(8)
    with pytest.raises(DuplicateKeyError):
        await archive.insert_one({"sku": "sku-8"})


async def test_every_way_to_reach_a_collection_shares_the_indexes() -> None:
    client = FastMongoClient()
    await client["shop"]["orders"].create_index("sku", unique=True)
    await client.get_database("shop").get_collection("orders").insert_one({"sku": "a"})
    with pytest.raises(DuplicateKeyError):
        await client.shop.orders.insert_one({"sku": "a"})
    assert await client["shop"].orders.find_one({"sku": "a"}) is not None


async def test_plain_mongomock_clients_are_left_untouched(examined: Examined) -> None:
    from mongomock_motor import AsyncMongoMockClient

    plain = AsyncMongoMockClient()["shop"]["orders"]
    await plain.insert_many([_order(n) for n in range(50)])
    examined.reset()
    assert await plain.find_one({"_id": 49}) == _order(49)
    assert examined.count == 50
