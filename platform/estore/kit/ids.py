"""Identifiers: random in production, a seeded sequence when a run must replay exactly.

Every id a service mints (documents, events, outbox entries, consumer names) comes from
`new_id()`, `new_uuid()` and `new_object_id()`. They read the id source of the current context, so a
deterministic harness sets a `SeededIds` with `using(...)` around the code it drives (asyncio
tasks inherit the context they were created in) and gets the same ids, in the same order,
from the same seed.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from bson import ObjectId


class IdSource(Protocol):
    def uuid(self) -> uuid.UUID:
        """A fresh version-4 UUID."""

    def object_id(self) -> ObjectId:
        """A fresh ObjectId, greater than every one this source made before."""


class RandomIds:
    """Production ids: uuid4 and the driver's own ObjectIds."""

    def uuid(self) -> uuid.UUID:
        return uuid.uuid4()

    def object_id(self) -> ObjectId:
        return ObjectId()


class SeededIds:
    """Ids drawn from one seeded RNG; ObjectIds from a counter, so they keep growing."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(f"ids:{seed}")
        self._counter = itertools.count(1)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def object_id(self) -> ObjectId:
        return ObjectId(next(self._counter).to_bytes(12, "big"))


_RANDOM = RandomIds()
_source: ContextVar[IdSource] = ContextVar("estore_ids", default=_RANDOM)


def new_id() -> str:
    """A fresh id as 32 hex digits (document ids)."""
    return _source.get().uuid().hex


def new_uuid() -> str:
    """A fresh id in the dashed UUID form (event ids)."""
    return str(_source.get().uuid())


def new_object_id() -> ObjectId:
    return _source.get().object_id()


@contextmanager
def using(source: IdSource) -> Iterator[IdSource]:
    """Mint ids from `source` in this context (and in tasks created inside it)."""
    token = _source.set(source)
    try:
        yield source
    finally:
        _source.reset(token)
