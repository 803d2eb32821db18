"""FastMongoClient: mongomock-motor's async client over indexed stores, for the same motor calls.

Only the classes built here are changed; mongomock itself is not patched, so plain
AsyncMongoMockClient instances keep scanning exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mongomock.collection import Collection
from mongomock.database import Database
from mongomock.mongo_client import MongoClient
from mongomock_motor import AsyncMongoMockClient

from .cursor import FastCursor
from .keys import store_key
from .predicate import compile_filter
from .store import Clock, Document, IndexedServerStore


class _IndexedCollection(Collection):
    """A mongomock collection whose reads and writes go through the store's indexes."""

    def _iter_documents(self, filter: Any) -> Iterator[Document]:
        # Every read path (find, find_one, counts, updates, deletes, find_one_and_*, unique
        # checks) gets its documents here, so narrowing here speeds up all of them.
        store = self._store
        if store.is_empty:
            return super()._iter_documents(filter)  # validates the filter, as mongomock does
        if type(filter) is dict and not filter:
            # The empty filter matches everything: no need to ask the matcher per document.
            return iter(list(store.documents))
        predicate = compile_filter(filter)
        if predicate is None:
            return super()._iter_documents(filter)
        candidates = store.narrow(filter)
        documents = list(store.documents) if candidates is None else candidates
        return (doc for doc in documents if predicate.test(doc))

    def find(self, *args: Any, **kwargs: Any) -> FastCursor:
        cursor = super().find(*args, **kwargs)
        # mongomock built and validated it; the subclass only changes how pages are read.
        cursor.__class__ = FastCursor
        return cursor

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> Document | None:
        # mongomock's find_one, except that its cursor reads (copies) only the first document.
        if filter is None:
            filter = {}
        if not isinstance(filter, Mapping):
            filter = {"_id": filter}
        cursor = self.find(filter, *args, **kwargs)
        cursor._first_only = True
        try:
            return next(cursor)
        except StopIteration:
            return None

    def _apply_update_document(
        self, existing_document: Document, spec: Any, document: Any, was_insert: bool
    ) -> Any:
        # Updates change the stored document in place, behind the store's back; refile it
        # even when the update fails halfway, since mongomock keeps a half-applied update.
        key = store_key(existing_document.get("_id"))
        try:
            return super()._apply_update_document(existing_document, spec, document, was_insert)
        finally:
            self._store.refile(key)

    def _apply_update_pipeline(
        self, existing_document: Document, pipeline: Any, session: Any
    ) -> Any:
        key = store_key(existing_document.get("_id"))
        try:
            return super()._apply_update_pipeline(existing_document, pipeline, session)
        finally:
            self._store.refile(key)

    def with_options(self, *args: Any, **kwargs: Any) -> Collection:
        plain = super().with_options(*args, **kwargs)
        if plain is self:
            return self
        # A plain Collection on an indexed store would edit documents without refiling them.
        return _IndexedCollection(
            plain.database,
            plain.name,
            write_concern=plain.write_concern,
            read_concern=plain.read_concern,
            read_preference=plain.read_preference,
            codec_options=plain.codec_options,
            _db_store=self._db_store,
        )


class _IndexedDatabase(Database):
    """A mongomock database that hands out indexed collections."""

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> Collection:
        if name not in self._collection_accesses:
            self._ensure_valid_collection_name(name)
            self._collection_accesses[name] = _IndexedCollection(
                self,
                name,
                _db_store=self._store,
                read_preference=self.read_preference,
                codec_options=self._codec_options,
            )
        # mongomock derives the requested options from the cached collection (with_options).
        return super().get_collection(name, *args, **kwargs)

    def with_options(self, *args: Any, **kwargs: Any) -> Database:
        plain = super().with_options(*args, **kwargs)
        if plain is self:
            return self
        return _IndexedDatabase(
            plain.client,
            plain.name,
            self._store,
            read_preference=plain.read_preference,
            codec_options=plain.codec_options,
            read_concern=plain.read_concern,
        )


class _IndexedMongoClient(MongoClient):
    """A mongomock client whose databases are indexed."""

    def __init__(self, *args: Any, clock: Clock | None = None, **kwargs: Any) -> None:
        store = IndexedServerStore(clock) if clock is not None else IndexedServerStore()
        kwargs.setdefault("_store", store)
        super().__init__(*args, **kwargs)

    def get_database(self, name: str | None = None, *args: Any, **kwargs: Any) -> Database:
        if name is not None and name not in self._database_accesses:
            self._database_accesses[name] = _IndexedDatabase(
                self,
                name,
                self._store[name],
                read_preference=self.read_preference,
                codec_options=self._codec_options,
            )
        return super().get_database(name, *args, **kwargs)


class FastMongoClient(AsyncMongoMockClient):
    """Drop-in for `mongomock_motor.AsyncMongoMockClient` that answers equality lookups on `_id`
    and declared indexes without scanning. Arguments are those of AsyncMongoMockClient;
    `fast_paths=False` gives plain mongomock, for benchmarks that compare the two side by side;
    `clock` (naive UTC datetimes, mongomock's `utcnow` by default) drives TTL expiry.
    """

    def __init__(
        self,
        *args: Any,
        fast_paths: bool = True,
        clock: Clock | None = None,
        mock_build_info: Any = None,
        mock_io_loop: Any = None,
        **kwargs: Any,
    ) -> None:
        if fast_paths:
            mongo: MongoClient = _IndexedMongoClient(*args, clock=clock, **kwargs)
        else:
            mongo = MongoClient(*args, **kwargs)
        super().__init__(
            mock_build_info=mock_build_info,
            mock_mongo_client=mongo,
            mock_io_loop=mock_io_loop,
        )
