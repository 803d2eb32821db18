"""Ordered indexes: a declared field's documents kept in mongomock's sort order, and TTL deadlines.

`SortedIndex` keeps one entry per document, `(sort key, natural position, store key)`, in a
SortedList: the sort key orders as mongomock's sort does (sorting.native_key), and the
natural position breaks ties as mongomock's stable sort does. A sorted page then reads the
index from one end and stops when the page is full, as a Mongo index scan does. A document
whose value has no native key (see sorting.py) is counted, and while any is, the index
declines to serve sorts (mongomock sorts instead).

`TTLIndex` keeps every document's expiry instant in order, so expiring reads only the
documents that are due, where mongomock tests every document on every read.

Writes touch an index only when the document's key for it changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from mongomock.store import _get_min_datetime_from_value
from sortedcontainers import SortedList

from .sorting import Document, SortPairs, Unsupported, first_sorted, native_key

Entry = tuple[Any, int, Hashable]


class SortedIndex:
    """One field's documents in mongomock's sort order for that field."""

    __slots__ = ("entries", "filed", "path", "unsupported")

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries = SortedList()
        self.filed: dict[Hashable, Entry] = {}
        self.unsupported: set[Hashable] = set()

    def file(self, doc_key: Hashable, position: int, document: Document) -> None:
        try:
            entry: Entry | None = (native_key(self.path, document), position, doc_key)
        except Unsupported:
            entry = None
        old = self.filed.get(doc_key)
        if entry is not None and old is not None and old[0] == entry[0] and old[1] == position:
            return
        self.unfile(doc_key)
        if entry is None:
            self.unsupported.add(doc_key)
            return
        self.entries.add(entry)
        self.filed[doc_key] = entry

    def unfile(self, doc_key: Hashable) -> None:
        self.unsupported.discard(doc_key)
        old = self.filed.pop(doc_key, None)
        if old is not None:
            self.entries.remove(old)

    @property
    def can_sort(self) -> bool:
        return not self.unsupported

    def first_matches(
        self,
        documents: Mapping[Hashable, Document],
        descending: bool,
        rest: SortPairs,
        test: Callable[[Document], bool],
        stop: int,
    ) -> list[Document]:
        """At least the first `stop` documents passing `test` (all, if fewer), in mongomock's
        order for this field (`descending`) and then the `rest` of the sort."""
        found: list[Document] = []
        for group in self._groups(descending):
            matches = [doc for doc in (documents[key] for key in group) if test(doc)]
            if len(matches) > 1 and rest:
                matches = first_sorted(matches, rest, None)
            found.extend(matches)
            if len(found) >= stop:
                break
        return found

    def _groups(self, descending: bool) -> Iterator[list[Hashable]]:
        # Runs of equal keys, each in natural order: mongomock's sorts are stable, descending
        # ones included, so ties keep insertion order either way.
        entries = reversed(self.entries) if descending else iter(self.entries)
        group: list[Hashable] = []
        current: Any = _NO_KEY
        for key, _, doc_key in entries:
            if key != current:
                if group:
                    yield group[::-1] if descending else group
                group = []
                current = key
            group.append(doc_key)
        if group:
            yield group[::-1] if descending else group


_NO_KEY = object()


class TTLIndex:
    """Expiry instants of a TTL index's documents, earliest first (mongomock's rule for which
    documents are due: the smallest datetime in the field, `expireAfterSeconds` after it)."""

    __slots__ = ("deadlines", "expiry", "filed", "odd", "path")

    def __init__(self, path: str, expiry: int) -> None:
        self.path = path
        self.expiry = expiry
        self.deadlines = SortedList()
        self.filed: dict[Hashable, tuple[dt.datetime, int, Hashable]] = {}
        # Values that are not naive datetimes: mongomock's own test decides for these few.
        self.odd: set[Hashable] = set()

    def file(self, doc_key: Hashable, position: int, document: Document) -> None:
        value = _get_min_datetime_from_value(document.get(self.path))
        old = self.filed.get(doc_key)
        if old is not None and old[0] == value and type(value) is dt.datetime:
            return
        self.unfile(doc_key)
        if type(value) is not dt.datetime or value.tzinfo is not None:
            self.odd.add(doc_key)
            return
        entry = (value, position, doc_key)
        self.deadlines.add(entry)
        self.filed[doc_key] = entry

    def unfile(self, doc_key: Hashable) -> None:
        self.odd.discard(doc_key)
        old = self.filed.pop(doc_key, None)
        if old is not None:
            self.deadlines.remove(old)

    def due(
        self,
        now: dt.datetime,
        documents: Mapping[Hashable, Document],
        odd_is_due: Callable[[Any, int, dt.datetime], bool],
    ) -> list[Hashable]:
        """Store keys of the documents that have expired at `now`."""
        due = []
        # mongomock: (now - value).total_seconds() >= expireAfterSeconds.
        for value, _, doc_key in self.deadlines:
            if (now - value).total_seconds() < self.expiry:
                break
            due.append(doc_key)
        due.extend(
            key for key in self.odd if odd_is_due(documents[key].get(self.path), self.expiry, now)
        )
        return due
