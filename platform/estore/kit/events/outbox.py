"""Transactional outbox: events land in the producer's own database first, then move to Redis.

The outbox insert is the durable record of an event: once it is written the event will reach
its stream, however long Redis is away. Relaying is at-least-once (a crash between XADD and
marking the entry relayed sends it again), which consumers absorb by deduplicating on event id.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from redis.asyncio import Redis

from estore.kit.clock import Clock
from estore.kit.events.model import Event, encode
from estore.kit.ids import new_object_id

OUTBOX_COLLECTION = "outbox"


class Outbox:
    def __init__(
        self,
        db: AsyncIOMotorDatabase[Any],
        redis: Redis,
        clock: Clock,
        *,
        batch_size: int = 100,
        retention: float = 3600.0,
        stream_maxlen: int | None = None,
    ) -> None:
        self._entries = db[OUTBOX_COLLECTION]
        self._redis = redis
        self._clock = clock
        self._batch_size = batch_size
        self._retention = retention
        self._stream_maxlen = stream_maxlen
        # One relay at a time per process: two interleaved relays could reorder a stream.
        self._lock = asyncio.Lock()
        self._last_purge: float | None = None

    async def ensure_indexes(self) -> None:
        # TTL on relayed_at removes relayed entries on a real Mongo; entries still waiting
        # have relayed_at = None, which TTL never expires.
        await self._entries.create_index(
            [("relayed_at", 1)], expireAfterSeconds=int(self._retention)
        )

    async def add(self, event: Event) -> None:
        # ObjectIds grow within a process, so sorting on _id relays in publish order.
        document = {
            "_id": new_object_id(),
            "event_id": event.id,
            "stream": event.type,
            "event": event.model_dump(mode="json"),
            "created_at": self._clock.now(),
            "relayed_at": None,
        }
        await self._entries.insert_one(document)

    async def relay(self) -> int:
        """Move waiting entries to their streams, oldest first; stop at the first failure.

        Stopping (the error propagates) rather than skipping keeps every stream in order.
        """
        moved = 0
        async with self._lock:
            while True:
                batch = await self._waiting(self._batch_size)
                for entry in batch:
                    await self._send(entry)
                    moved += 1
                if len(batch) < self._batch_size:
                    return moved

    async def waiting(self) -> int:
        """How many entries have not reached Redis yet."""
        return int(await self._entries.count_documents({"relayed_at": None}))

    async def purge_if_due(self) -> int:
        """Delete relayed entries older than the retention; at most once per retention period.

        The TTL index does this on a real Mongo; the in-process fake needs it done by hand.
        """
        now = self._clock.monotonic()
        if self._last_purge is not None and now - self._last_purge < self._retention:
            return 0
        self._last_purge = now
        cutoff = self._clock.now() - timedelta(seconds=self._retention)
        result = await self._entries.delete_many({"relayed_at": {"$ne": None, "$lt": cutoff}})
        return int(result.deleted_count)

    async def _waiting(self, limit: int) -> list[dict[str, Any]]:
        cursor = self._entries.find({"relayed_at": None}).sort("_id", 1).limit(limit)
        return list(await cursor.to_list(limit))

    async def _send(self, entry: dict[str, Any]) -> None:
        event = Event.model_validate(entry["event"])
        await self._redis.xadd(
            entry["stream"], encode(event), maxlen=self._stream_maxlen, approximate=True
        )
        await self._entries.update_one(
            {"_id": entry["_id"]}, {"$set": {"relayed_at": self._clock.now()}}
        )
