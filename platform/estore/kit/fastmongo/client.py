"""FastMongoClient: mongomock-motor's async client over indexed stores, for the same motor calls.

Only the classes built here are changed; mongomock itself is not patched, so plain
AsyncMongoMockClient instances keep scanning exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mongomock import ObjectId, helpers
from mongomock.collection import (
    BSON,
    Collection,
    DuplicateKeyError,
    WriteError,
    _updaters,
    _validate_data_fields,
)
from mongomock.database import Database
from mongomock.mongo_client import MongoClient
from mongomock_motor import AsyncMongoMockClient
from packaging import version

from .copying import deep_copied, patched
from .cursor import FastCursor
from .keys import store_key
from .predicate import compile_filter
from .store import Clock, Document, IndexedServerStore

# mongomock parses this version on every insert and replacement; it cannot change in a run.
_CHECK_KEYS = helpers.PYMONGO_VERSION < version.parse("3.6")


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

    def _insert(self, data: Any, session: Any = None, ordered: bool = True) -> Any:
        if session or type(data) is not dict:
            return super()._insert(data, session, ordered)  # sessions refused, lists per item
        return self._insert_document(data)

    def _insert_document(self, data: Document) -> Any:
        """mongomock's `_insert` of one document, step for step, with the one-pass datetime
        pass (copying.patched) for the document it stores."""
        if not all(isinstance(key, str) for key in data):
            raise ValueError("Document keys must be strings")
        if not _CHECK_KEYS:
            _validate_data_fields(data)
        BSON.encode(data, check_keys=_CHECK_KEYS)  # pymongo is installed: BSON is never None
        # pymongo fills in the caller's own dict.
        if "_id" not in data:
            data["_id"] = ObjectId()
        key = store_key(data["_id"])
        if key in self._store:
            raise DuplicateKeyError("E11000 Duplicate Key Error", 11000)
        stored = patched(data)
        self._store[key] = stored
        try:
            self._ensure_uniques(stored)
        except DuplicateKeyError:
            del self._store[key]
            raise
        return stored["_id"]

    def _update(
        self,
        spec: Any,
        document: Any,
        upsert: bool = False,
        manipulate: bool = False,
        multi: bool = False,
        check_keys: bool = False,
        hint: Any = None,
        session: Any = None,
        collation: Any = None,
        let: Any = None,
        array_filters: Any = None,
        **kwargs: Any,
    ) -> Any:
        unusual = (upsert, manipulate, check_keys, hint, session, collation, let, array_filters)
        if any(unusual) or type(spec) is not dict or type(document) is not dict:
            return super()._update(
                spec,
                document,
                upsert,
                manipulate,
                multi,
                check_keys,
                hint,
                session,
                collation,
                let,
                array_filters,
                **kwargs,
            )
        return self._update_existing(patched(spec), patched(document), multi)

    def _update_existing(self, spec: Document, document: Document, multi: bool) -> dict[str, Any]:
        """mongomock's `_update` without upsert (or sessions, hints, collations, array filters),
        step for step, with one-pass copies for its filter, update document and snapshot."""
        if self.database.client.server_info()["versionArray"] < [5]:
            for operator in _updaters:
                if not document.get(operator, True):
                    raise WriteError(
                        f"'{operator}' is empty. You must specify a field like so: "
                        f"{{{operator}: {{<field>: ...}}}}"
                    )
        matched = modified = 0
        snapshot_of = dict if _rebinds_top_level_only(document) else deep_copied
        for existing in self._iter_documents(spec):
            snapshot = snapshot_of(existing)
            matched += 1
            self._apply_update_document(existing, spec, document, False)
            if existing != snapshot:
                self._check_changed(existing, snapshot)
                modified += 1
            if not multi:
                break
        return {
            "connectionId": self.database.client._id,
            "err": None,
            "n": matched,
            "nModified": modified,
            "ok": 1,
            "upserted": None,
            "updatedExisting": matched > 0,
        }

    def _check_changed(self, existing: Document, snapshot: Document) -> None:
        # mongomock's checks after an update: the _id kept and unique indexes still unique,
        # or the snapshot is put back.
        if snapshot.get("_id") != existing.get("_id"):
            self._store[snapshot["_id"]] = snapshot
            raise WriteError(
                "After applying the update, the (immutable) field '_id' was found to have "
                "been altered to _id: {}".format(existing.get("_id"))
            )
        try:
            self._ensure_uniques(existing)
        except DuplicateKeyError:
            self._store[snapshot["_id"]] = snapshot
            raise

    def _internalize_dict(self, document: Document) -> Document:
        # A replacement's fields, deep-copied as mongomock does (its copy.deepcopy per field).
        return {key: deep_copied(value) for key, value in document.items()}

    def _apply_update_document(
        self, existing_document: Document, spec: Any, document: Any, was_insert: bool
    ) -> Any:
        # Updates change the stored document in place, behind the store's back; refile it
        # even when the update fails halfway, since mongomock keeps a half-applied update.
        key = store_key(existing_document.get("_id"))
        before = dict(existing_document) if _is_replacement(document) else None
        try:
            return super()._apply_update_document(existing_document, spec, document, was_insert)
        except Exception:
            if before is not None:
                # mongomock leaves a refused replacement (a new `_id`, a bad field) applied, or
                # cleared, under the old key; MongoDB leaves the document as it was.
                existing_document.clear()
                existing_document.update(before)
            raise
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


# Operators that, on a plain top-level field, bind a new value and never change one in place.
_REBINDING = frozenset({"$set", "$unset", "$inc"})


def _rebinds_top_level_only(document: Document) -> bool:
    """Whether applying `document` leaves every stored value object as it was (a replacement
    clears the document and fills it with copies; `$set`, `$unset` and `$inc` on top-level
    fields rebind them), so that a shallow snapshot restores the document as a deep one does."""
    if _is_replacement(document):
        return True
    return all(
        operator in _REBINDING
        and type(fields) is dict
        and all(type(field) is str and "." not in field and "$" not in field for field in fields)
        for operator, fields in document.items()
    )


def _is_replacement(document: Any) -> bool:
    # mongomock's test: the update document's first key is not an operator.
    first = next(iter(document), "$") if isinstance(document, Mapping) else "$"
    return not str(first).startswith("$")


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
