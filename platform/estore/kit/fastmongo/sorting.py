"""Sort order of stored documents: mongomock's order, reached without copying or wrapping them.

mongomock sorts by one stable `sorted` pass per key (last key first) with
`filtering.resolve_sort_key`, whose BsonComparable compares through `bson_compare`. For the
common value types that order is a plain total order on `(flag, BSON type rank, value)`, so
one stable pass over native tuples (or `heapq.nsmallest`, stable as well) gives the very same
sequence. Any other value (documents, nested arrays, NaN, aware datetimes, bytes, Decimal128,
subclasses) sends the whole sort to mongomock's own passes over the un-copied documents.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongomock import filtering
from sentinels import NOTHING

Document = dict[str, Any]
SortPairs = list[tuple[str, bool]]  # (path, descending)

# BSON comparison order ranks, as mongomock's `_get_compare_type` gives them; exact types only,
# since a subclass may compare differently from its base.
_NONE_RANK = 5
_RANKS: dict[type, int] = {bool: 40, int: 10, float: 10, str: 15, ObjectId: 35, datetime: 45}


class Unsupported(Exception):
    """A sort value outside the types whose native order is known to be mongomock's."""


def sort_pairs(sort: Any) -> SortPairs | None:
    """The cursor's sort as (path, descending) pairs, or None when mongomock must sort itself.

    Falls back on `$natural` and other `$` keys, and on directions that are not numbers.
    """
    items = sort.items() if isinstance(sort, dict) else sort
    if not isinstance(items, list | tuple) and not isinstance(sort, dict):
        return None
    pairs: SortPairs = []
    for item in items:
        if not isinstance(item, list | tuple) or len(item) != 2:
            return None
        path, direction = item
        if not isinstance(path, str) or path.startswith("$"):
            return None
        if type(direction) not in (int, float, bool) or direction != direction:
            return None
        pairs.append((path, direction < 0))
    return pairs


def native_key(path: str, document: Document) -> Hashable:
    """A hashable key ordering like mongomock's `resolve_sort_key(path, document)`."""
    if path and "." not in path:
        value = document.get(path, NOTHING)  # what iter_key_candidates does for a plain name
    else:
        value = filtering.resolve_key(path, document)
    if value is NOTHING:
        return (1, _NONE_RANK, None)
    if isinstance(value, list | tuple):
        # mongomock sorts arrays by their first element, and the empty array before all else.
        if not value:
            return (0, _NONE_RANK, None)
        value = value[0]
    if value is None:
        return (1, _NONE_RANK, None)
    rank = _RANKS.get(type(value))
    if rank is None:
        raise Unsupported
    if rank == 10 and isinstance(value, float) and math.isnan(value):
        raise Unsupported  # NaN breaks the total order that one pass relies on
    if rank == 45 and value.tzinfo is not None:
        raise Unsupported  # mongomock stores naive UTC; aware ones may not compare with them
    return (1, rank, value)


def first_sorted(documents: list[Document], pairs: SortPairs, stop: int | None) -> list[Document]:
    """The first `stop` documents (all when None) in mongomock's sort order for `pairs`."""
    try:
        columns = [_signed_ranks(documents, path, descending) for path, descending in pairs]
    except Unsupported:
        return _mongomock_sorted(documents, pairs)[:stop]
    # Position last: ties keep the input (natural) order, as mongomock's stable passes do.
    decorated = list(zip(*columns, range(len(documents)), strict=True))
    if stop is not None and stop < len(decorated):
        chosen = heapq.nsmallest(stop, decorated)
    else:
        chosen = sorted(decorated)
    return [documents[row[-1]] for row in chosen]


def _signed_ranks(documents: Sequence[Document], path: str, descending: bool) -> list[int]:
    # Dense ranks turn every key into an int, which can be negated for a descending key.
    keys = [native_key(path, document) for document in documents]
    rank_of = {key: number for number, key in enumerate(sorted(set(keys)))}  # type: ignore[type-var]
    sign = -1 if descending else 1
    return [sign * rank_of[key] for key in keys]


def _mongomock_sorted(documents: list[Document], pairs: SortPairs) -> list[Document]:
    # mongomock's own passes (Collection._get_dataset), so exotic values order, or fail, alike.
    ordered = documents
    for path, descending in reversed(pairs):
        ordered = sorted(ordered, key=functools.partial(_mongomock_key, path), reverse=descending)
    return ordered


def _mongomock_key(path: str, document: Document) -> Any:
    return filtering.resolve_sort_key(path, document)
