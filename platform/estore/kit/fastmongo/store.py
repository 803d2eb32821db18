"""Indexed storage: mongomock's collection store, plus hash indexes kept in step with every write.

The indexes are a superset structure: they narrow the documents a filter can match, and
mongomock's matcher still decides which of those do. Every document is filed, including
ones that a sparse or partial index would leave out, so narrowing never loses a match.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

import mongomock
from mongomock.store import CollectionStore, DatabaseStore, ServerStore

from .keys import IndexKey, document_keys, id_probes, pinned_values, probe_keys
from .ordered import SortedIndex, TTLIndex
from .sorting import SortPairs

Document = dict[str, Any]


class _HashIndex:
    """One declared index: the store keys of the documents filed under each index key."""

    __slots__ = ("buckets", "filed", "overflow", "paths")

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self.buckets: dict[IndexKey, set[Hashable]] = {}
        self.filed: dict[Hashable, set[IndexKey]] = {}
        # Documents whose keys could not be computed: always candidates, never lost.
        self.overflow: set[Hashable] = set()

    def file(self, doc_key: Hashable, document: Document) -> None:
        keys = document_keys(document, self.paths)
        if keys is not None and keys == self.filed.get(doc_key):
            return  # an update that left this index's fields alone
        self.unfile(doc_key)
        if keys is None:
            self.overflow.add(doc_key)
            return
        for key in keys:
            self.buckets.setdefault(key, set()).add(doc_key)
        self.filed[doc_key] = keys

    def unfile(self, doc_key: Hashable) -> None:
        self.overflow.discard(doc_key)
        for key in self.filed.pop(doc_key, ()):
            bucket = self.buckets[key]
            bucket.discard(doc_key)
            if not bucket:
                del self.buckets[key]

    def lookup(self, keys: set[IndexKey]) -> set[Hashable]:
        found = set(self.overflow)
        for key in keys:
            found.update(self.buckets.get(key, ()))
        return found


def _index_paths(index_spec: dict[str, Any]) -> tuple[str, ...] | None:
    paths = tuple(field for field, _ in index_spec["key"])
    # Wildcard and text specs ("$**", "$text") name no single path to file under.
    if not paths or any(not path or path.startswith("$") for path in paths):
        return None
    return paths


def _mongomock_now() -> datetime:
    # Looked up at each call, so tests that move mongomock's clock move this one too.
    now: datetime = mongomock.utcnow()  # type: ignore[attr-defined]
    return now


class IndexedCollectionStore(CollectionStore):
    """A collection's documents, with `_id` and declared indexes answering equality filters,
    the first field of each declared index kept in sort order, and TTL deadlines in order."""

    def __init__(self, name: str, clock: Callable[[], datetime] = _mongomock_now) -> None:
        self._specs: dict[str, dict[str, Any]] = {}
        self._hash_indexes: dict[str, _HashIndex] = {}
        self._sorted: dict[str, SortedIndex] = {}
        self._ttl: dict[str, TTLIndex] = {}
        self._clock = clock
        # Natural order is the OrderedDict's; positions let a narrowed set be put back in it.
        self._positions: dict[Hashable, int] = {}
        self._counter = itertools.count()
        super().__init__(name)

    @property
    def indexes(self) -> dict[str, dict[str, Any]]:
        return self._specs

    @indexes.setter
    def indexes(self, specs: dict[str, dict[str, Any]]) -> None:
        # mongomock assigns this dict wholesale (drop, drop_indexes): rebuild from it. (Its
        # TTL indexes live apart and survive drop_indexes; so do ours, to answer alike.)
        self._specs = specs
        self._hash_indexes = {}
        self._sorted = {}
        for name, spec in specs.items():
            self._build(name, spec)

    def create_index(self, index_name: str, index_dict: dict[str, Any]) -> None:
        super().create_index(index_name, index_dict)
        self._build(index_name, index_dict)
        self._build_ttl(index_name)

    def drop_index(self, index_name: str) -> None:
        super().drop_index(index_name)
        self._hash_indexes.pop(index_name, None)
        self._ttl.pop(index_name, None)
        self._sorted = {}
        for spec in self._specs.values():
            self._build_sorted(spec)

    def drop(self) -> None:
        super().drop()
        self._positions = {}
        self._ttl = {}

    def __setitem__(self, key: Hashable, document: Document) -> None:
        with self._rwlock.writer():
            if key not in self._documents:
                self._positions[key] = next(self._counter)
            self._documents[key] = document
        self.refile(key)

    def __delitem__(self, key: Hashable) -> None:
        super().__delitem__(key)
        del self._positions[key]
        for index in self._all_indexes():
            index.unfile(key)

    def _all_indexes(self) -> list[_HashIndex | SortedIndex | TTLIndex]:
        return [*self._hash_indexes.values(), *self._sorted.values(), *self._ttl.values()]

    def refile(self, key: Hashable) -> None:
        """File the document stored under `key` again, after it was changed in place."""
        try:
            document = self._documents.get(key)
        except TypeError:
            # An unhashable _id (an upsert's list): mongomock itself rejects it just after.
            return
        if document is None:
            return
        for index in self._hash_indexes.values():
            index.file(key, document)
        position = self._positions[key]
        for ordered in self._sorted.values():
            ordered.file(key, position, document)
        for ttl in self._ttl.values():
            ttl.file(key, position, document)

    def _remove_expired_documents(self) -> None:
        # mongomock tests every document against every TTL index on every read.
        if not self._ttl:
            return
        now = self._clock()
        for index in list(self._ttl.values()):
            for key in index.due(now, self._documents, self._value_meets_expiry):
                if key in self._documents:
                    del self[key]

    def candidates(self, query: Any) -> set[Hashable] | None:
        """Store keys of the documents that can match `query`; None when no index applies."""
        self._remove_expired_documents()
        pins = pinned_values(query)
        if not pins:
            return None
        return self._smallest_candidate_set(pins)

    def narrow(self, query: Any) -> list[Document] | None:
        """The documents, in natural order, that can match `query`; None when no index applies."""
        keys = self.candidates(query)
        if keys is None:
            return None
        ordered = sorted(keys, key=self._positions.__getitem__)
        return [self._documents[key] for key in ordered]

    def first_sorted_matches(
        self, query: Any, test: Callable[[Document], bool], pairs: SortPairs, stop: int
    ) -> list[Document] | None:
        """At least the first `stop` documents matching (all, if fewer), in mongomock's order
        for `pairs`, read from the sorted index on the first sort field; None when there is
        no such index, or when the equality indexes narrow the query to fewer documents than
        the index scan is expected to read."""
        path, descending = pairs[0]
        index = self._sorted.get(path)
        if index is None or not index.can_sort:
            return None
        keys = self.candidates(query)
        # Expected reads: the candidates themselves, or stop / (share of documents matching).
        if keys is not None and len(keys) ** 2 <= stop * len(self._documents):
            return None
        return index.first_matches(self._documents, descending, pairs[1:], test, stop)

    def _smallest_candidate_set(self, pins: dict[str, list[Any]]) -> set[Hashable] | None:
        best: set[Hashable] | None = None
        if "_id" in pins:
            probes = id_probes(pins["_id"])
            if probes is not None:
                best = {key for key in probes if key in self._documents}
                if len(best) <= 1:
                    return best
        for index in self._hash_indexes.values():
            if not all(path in pins for path in index.paths):
                continue
            keys = probe_keys([pins[path] for path in index.paths])
            if keys is None:
                continue
            found = index.lookup(keys)
            if best is None or len(found) < len(best):
                best = found
        return best

    def _build(self, name: str, spec: dict[str, Any]) -> None:
        paths = _index_paths(spec)
        if paths is None:
            self._hash_indexes.pop(name, None)
            return
        index = _HashIndex(paths)
        for key, document in self._documents.items():
            index.file(key, document)
        self._hash_indexes[name] = index
        self._build_sorted(spec)

    def _build_sorted(self, spec: dict[str, Any]) -> None:
        paths = _index_paths(spec)
        if paths is None or paths[0] in self._sorted:
            return
        index = self._sorted[paths[0]] = SortedIndex(paths[0])
        for key, document in self._documents.items():
            index.file(key, self._positions[key], document)

    def _build_ttl(self, name: str) -> None:
        spec = self._ttl_indexes.get(name)
        self._ttl.pop(name, None)
        if spec is None or len(spec["key"]) != 1:
            return  # mongomock ignores compound TTL specs
        try:
            expiry = int(spec["expireAfterSeconds"])
        except (TypeError, ValueError):
            return
        index = self._ttl[name] = TTLIndex(next(iter(spec["key"]))[0], expiry)
        for key, document in self._documents.items():
            index.file(key, self._positions[key], document)


Clock = Callable[[], datetime]


class IndexedDatabaseStore(DatabaseStore):
    """A database's collections, each an IndexedCollectionStore."""

    def __init__(self, clock: Clock = _mongomock_now) -> None:
        super().__init__()
        self._clock = clock

    def __getitem__(self, col_name: str) -> IndexedCollectionStore:
        collection = self._collections.get(col_name)
        if collection is None:
            collection = IndexedCollectionStore(col_name, self._clock)
            self._collections[col_name] = collection
        return collection

    def rename(self, name: str, new_name: str) -> None:
        # An empty store is falsy (it has __len__), so test for absence explicitly.
        collection = self._collections.pop(name, None)
        if collection is None:
            collection = IndexedCollectionStore(new_name, self._clock)
        collection.name = new_name
        self._collections[new_name] = collection


class IndexedServerStore(ServerStore):
    """A server's databases, each an IndexedDatabaseStore; `clock` (naive UTC, as mongomock's)
    decides when TTL indexes expire documents."""

    def __init__(self, clock: Clock = _mongomock_now) -> None:
        super().__init__()
        self._clock = clock

    def __getitem__(self, db_name: str) -> IndexedDatabaseStore:
        database = self._databases.get(db_name)
        if database is None:
            database = self._databases[db_name] = IndexedDatabaseStore(self._clock)
        return database
