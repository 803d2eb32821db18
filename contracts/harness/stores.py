"""Provider-state helper: give a document created through the use cases the id a pact names.

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
