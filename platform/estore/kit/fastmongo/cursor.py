"""A mongomock cursor that copies only the documents it returns.

mongomock's Cursor copies (and, with tz_aware, converts) every matching document, sorts them
all, and only then applies skip and limit. This cursor filters the stored documents in place,
picks the page (mongomock's sort order, see sorting.py), and copies, converts and projects only
that page, through mongomock's own copy and projection code. Anything it cannot reproduce
exactly (`$natural` and other `$` sort keys, projection operators, odd skip or limit values,
a read that asks for the whole result) is left to mongomock.
"""

from __future__ import annotations

from typing import Any

from mongomock import helpers
from mongomock.collection import Cursor

from .copying import copied
from .predicate import compile_filter
from .sorting import Document, SortPairs, first_sorted, sort_pairs

_NO_SORT: SortPairs = []


class FastCursor(Cursor):
    """mongomock's Cursor, with the page computed from un-copied documents.

    Made by changing the class of a cursor mongomock built, so it has no state of its own
    until first read.
    """

    _first_only = False  # find_one: only the first document is ever read
    _page: list[Document] | None = None
    _page_key: tuple[Any, ...] | None = None
    _page_inputs: tuple[Any, ...] | None = None
    _page_had_matches = False

    def clone(self) -> Cursor:
        cursor = super().clone()
        cursor.__class__ = FastCursor
        return cursor

    def _compute_results(self, with_limit_and_skip: bool = False) -> list[Document]:
        # Called once per document iterated: the page read for the same inputs is reused.
        inputs = (self._factory, self._skip, self._limit, self._first_only)
        if with_limit_and_skip and self._page_had_matches and self._page_inputs == inputs:
            if not self._results and self._page is not None:
                return self._page
        plan = self._plan() if with_limit_and_skip else None
        # A full result already cached by mongomock stays the one snapshot that is served.
        if plan is None or (
            self._results and self._factory_last_generated_results is self._factory
        ):
            return super()._compute_results(with_limit_and_skip)
        key = (self._factory, *plan[1:])
        # mongomock recomputes while the whole result is empty; so does this page.
        if self._page is None or self._page_key != key or not self._page_had_matches:
            self._page = self._read_page(*plan)
            self._page_key = key
            self._page_inputs = inputs
        return self._page

    def _plan(self) -> tuple[SortPairs, int, int | None] | None:
        """(sort, start, stop) when this read can be served as a page, else None."""
        pairs = sort_pairs(self._sort) if self._sort else _NO_SORT
        if pairs is None or not _plain_projection(self._projection):
            return None
        skip, limit = self._skip, self._limit
        if type(skip) is not int or skip < 0 or (limit is not None and type(limit) is not int):
            return None
        stop = skip + abs(limit) if limit else None
        if self._first_only:
            stop = skip + 1 if stop is None else min(stop, skip + 1)
        return pairs, skip, stop

    def _read_page(self, pairs: SortPairs, start: int, stop: int | None) -> list[Document]:
        collection = self.collection
        ordered = self._from_sorted_index(pairs, stop)
        if ordered is None:
            # Every match is found, as mongomock does, so filter errors surface alike.
            matches = list(collection._iter_documents(self._spec))
            ordered = first_sorted(matches, pairs, stop) if pairs else matches[:stop]
        self._page_had_matches = bool(ordered)
        chosen = ordered[start:stop]
        if not chosen and ordered and self._projection is not None:
            # mongomock copies every match, so a bad projection fails even for an empty page.
            collection._copy_only_fields(ordered[0], self._projection, dict)
        aware = bool(collection.codec_options.tz_aware)
        if self._projection is None or self._projection == {}:  # pymongo 4: {} is everything
            return [copied(doc, aware) for doc in chosen]
        page = [collection._copy_only_fields(doc, self._projection, dict) for doc in chosen]
        if aware:
            page = [helpers.make_datetime_timezone_aware_in_document(doc) for doc in page]
        return page

    def _from_sorted_index(self, pairs: SortPairs, stop: int | None) -> list[Document] | None:
        """The first `stop` matches in order, read from a sorted index; None if none serves.

        Only a filter whose predicate cannot raise is read partially: mongomock would test
        every document, and must not be seen to fail where this read stopped short."""
        if not pairs or stop is None:
            return None
        store = self.collection._store
        if store.is_empty:
            return None
        predicate = compile_filter(self._spec)
        if predicate is None or not predicate.total:
            return None
        return store.first_sorted_matches(self._spec, predicate.test, pairs, stop)


def _plain_projection(projection: Any) -> bool:
    # Top-level include/exclude projections succeed or fail alike for every document. Operators
    # ($slice, $elemMatch), positional `$` and dotted paths (mongomock fails on an array of
    # scalars under the parent) can fail for one document and not another.
    if projection is None:
        return True
    if isinstance(projection, dict):
        if any(isinstance(value, dict) for value in projection.values()):
            return False
        keys = list(projection)
    elif isinstance(projection, list | tuple):
        keys = list(projection)
    else:
        return False
    return all(isinstance(key, str) and "." not in key and "$" not in key for key in keys)
