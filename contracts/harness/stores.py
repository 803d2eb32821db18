"""Provider-state helpers: give documents created through the use cases the ids a pact names.

The services mint uuid ids and the kit has no id-factory seam, while a pact's request paths
carry fixed example ids; the state creates the record through the service, then re-keys it.
"""

from __future__ import annotations

from typing import Any


async def rekey(collection: Any, old_id: str, new_id: str) -> None:
    document = await collection.find_one({"_id": old_id})
    assert document is not None, f"no document {old_id} to re-key"
    await collection.delete_one({"_id": old_id})
    await collection.insert_one({**document, "_id": new_id})


async def rekey_order(db: Any, old_id: str, new_id: str) -> None:
    """An order and its lines (order_items, keyed `<order id>:<line>`) under a new id."""
    await rekey(db["orders"], old_id, new_id)
    lines = [doc async for doc in db["order_items"].find({"order_id": old_id})]
    await db["order_items"].delete_many({"order_id": old_id})
    for line in lines:
        moved = {**line, "_id": f"{new_id}:{line['line']}", "order_id": new_id}
        await db["order_items"].insert_one(moved)
