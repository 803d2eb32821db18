"""Indexed storage: mongomock's collection store, plus hash indexes kept in step with every write.

The indexes are a superset structure: they narrow the documents a filter can match, and
mongomock's matcher still decides which of those do. Every document is filed, including
ones that a sparse or partial index would leave out, so narrowing never loses a match.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

from mongomock.store import CollectionStore, DatabaseStore, ServerStore

from .keys import IndexKey, document_keys, id_probes, pinned_values, probe_keys

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
        self.unfile(doc_key)
        keys = document_keys(document, self.paths)
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


class IndexedCollectionStore(CollectionStore):
    """A collection's documents, with `_id` and declared indexes answering equality filters."""

    def __init__(self, name: str) -> None:
        self._specs: dict[str, dict[str, Any]] = {}
        self._hash_indexes: dict[str, _HashIndex] = {}
        # Natural order is the OrderedDict's; positions let a narrowed set be put back in it.
        self._positions: dict[Hashable, int] = {}
        self._counter = itertools.count()
        super().__init__(name)

    @property
    def indexes(self) -> dict[str, dict[str, Any]]:
        return self._specs

    @indexes.setter
    def indexes(self, specs: dict[str, dict[str, Any]]) -> None:
        # mongomock assigns this dict wholesale (drop, drop_indexes): rebuild from it.
        self._specs = specs
        self._hash_indexes = {}
        for name, spec in specs.items():
            self._build(name, spec)

    def create_index(self, index_name: str, index_dict: dict[str, Any]) -> None:
        super().create_index(index_name, index_dict)
        self._build(index_name, index_dict)

    def drop_index(self, index_name: str) -> None:
        super().drop_index(index_name)
        self._hash_indexes.pop(index_name, None)

    def drop(self) -> None:
        super().drop()
        self._positions = {}

    def __setitem__(self, key: Hashable, document: Document) -> None:
        with self._rwlock.writer():
            if key not in self._documents:
                self._positions[key] = next(self._counter)
            self._documents[key] = document
        self.refile(key)

    def __delitem__(self, key: Hashable) -> None:
        super().__delitem__(key)
        del self._positions[key]
        for index in self._hash_indexes.values():
            index.unfile(key)

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

    def narrow(self, query: Any) -> list[Document] | None:
        """The documents, in natural order, that can match `query`; None when no index applies."""
        self._remove_expired_documents()
        pins = pinned_values(query)
        if not pins:
            return None
        keys = self._smallest_candidate_set(pins)
        if keys is None:
            return None
        ordered = sorted(keys, key=self._positions.__getitem__)
        return [self._documents[key] for key in ordered]

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


class IndexedDatabaseStore(DatabaseStore):
    """A database's collections, each an IndexedCollectionStore."""

    def __getitem__(self, col_name: str) -> IndexedCollectionStore:
        collection = self._collections.get(col_name)
        if collection is None:
            collection = self._collections[col_name] = IndexedCollectionStore(col_name)
        return collection

    def rename(self, name: str, new_name: str) -> None:
        # An empty store is falsy (it has __len__), so test for absence explicitly.
        collection = self._collections.pop(name, None)
        if collection is None:
            collection = IndexedCollectionStore(new_name)
        collection.name = new_name
        self._collections[new_name] = collection


class IndexedServerStore(ServerStore):
    """A server's databases, each an IndexedDatabaseStore."""

    def __getitem__(self, db_name: str) -> IndexedDatabaseStore:
        database = self._databases.get(db_name)
        if database is None:
            database = self._databases[db_name] = IndexedDatabaseStore()
        return database
