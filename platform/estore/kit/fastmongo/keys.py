"""Index keys: what a stored document is filed under, and which keys a filter pins.

Soundness rule for everything here: whenever mongomock's matcher says a document matches
`{path: value}`, the document is filed under a key that the same value probes. Filing under
too many keys only costs a re-check by the matcher; missing a key would lose documents.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from bson import ObjectId
from mongomock import helpers
from mongomock.filtering import _RE_TYPES, iter_key_candidates
from sentinels import NOTHING

# A compound index files a document under the product of its fields' key sets; past this
# size (arrays in several fields) the document goes to the index's always-checked overflow.
MAX_KEYS_PER_DOCUMENT = 256

IndexKey = tuple[Hashable, ...]

_DOC_TAG = "\x00doc"
_ARRAY_TAG = "\x00array"


def freeze(value: Any) -> Hashable:
    """A hashable stand-in such that `a == b` (Python equality, as the matcher uses) implies
    `freeze(a) == freeze(b)`. Missing and null share the stand-in None, as they do for `{f: None}`.

    Raises TypeError for values that have no hash.
    """
    if value is NOTHING or value is None:
        return None
    if isinstance(value, Mapping):
        # Python dict equality ignores key order, so the stand-in must too.
        return (_DOC_TAG, frozenset((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (_ARRAY_TAG, tuple(freeze(item) for item in value))
    hash(value)
    return value


def field_keys(document: Mapping[str, Any], path: str) -> set[Hashable]:
    """Every key under which `document` may equal a literal at `path` (Mongo multikey)."""
    keys: set[Hashable] = set()
    # The matcher's own path walk, so arrays of sub-documents and numeric steps agree with it.
    for candidate in iter_key_candidates(path, document):
        keys.add(freeze(candidate))
        if isinstance(candidate, list | tuple):
            # An array matches a literal equal to one of its elements, or to the whole array.
            keys.update(freeze(item) for item in candidate)
    return keys


def document_keys(document: Mapping[str, Any], paths: Sequence[str]) -> set[IndexKey] | None:
    """The index keys of `document` for an index on `paths`, or None when it cannot be filed."""
    try:
        per_field = [field_keys(document, path) for path in paths]
    except TypeError:
        return None
    if math.prod(len(keys) for keys in per_field) > MAX_KEYS_PER_DOCUMENT:
        return None
    return set(itertools.product(*per_field))


def pinned_values(query: Any) -> dict[str, list[Any]]:
    """Fields the filter pins to literals (`v`, `{"$eq": v}`, `{"$in": [...]}`), with the values.

    Conjunctions (`$and`) pin too; `$or`, ranges and anything unusual pin nothing.
    """
    pins: dict[str, list[Any]] = {}
    if not isinstance(query, dict):
        return pins
    for field, condition in query.items():
        if field == "$and" and isinstance(condition, list):
            for clause in condition:
                pins.update(pinned_values(clause))
        elif isinstance(field, str) and not field.startswith("$"):
            values = _literal_values(condition)
            if values is not None:
                pins[field] = values
    return pins


def _literal_values(condition: Any) -> list[Any] | None:
    if isinstance(condition, dict) and not condition:
        # mongomock's matcher takes a bare `{}` to match a missing field too (not a null one),
        # which no equality bucket answers.
        return None
    # Same test as the matcher for "this dict is a set of operators, not a literal document".
    if isinstance(condition, dict) and condition and all(str(k).startswith("$") for k in condition):
        if "$eq" in condition:
            values = [condition["$eq"]]
        elif isinstance(condition.get("$in"), list | tuple):
            values = list(condition["$in"])
        else:
            return None
    else:
        values = [condition]
    if any(_is_unpinnable(value) for value in values):
        return None
    return values


def _is_unpinnable(value: Any) -> bool:
    # Regexes match by pattern, and NaN is unequal to itself: equality buckets cannot answer.
    if isinstance(value, _RE_TYPES):
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, Mapping):
        return any(_is_unpinnable(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_is_unpinnable(item) for item in value)
    return False


def probe_keys(values_per_field: Sequence[Iterable[Any]]) -> set[IndexKey] | None:
    """Index keys to look up for pinned values (one list per index field), or None if unusable."""
    try:
        per_field = [_field_probes(values) for values in values_per_field]
    except TypeError:
        return None
    if math.prod(len(keys) for keys in per_field) > MAX_KEYS_PER_DOCUMENT:
        return None
    return set(itertools.product(*per_field))


def _field_probes(values: Iterable[Any]) -> set[Hashable]:
    probes: set[Hashable] = set()
    for value in values:
        probes.add(freeze(value))
        if isinstance(value, ObjectId):
            # The matcher also accepts an array holding the ObjectId's hex string.
            probes.add(str(value))
    return probes


def store_key(document_id: Any) -> Hashable:
    """The key mongomock stores a document under, given its `_id`."""
    if isinstance(document_id, dict):
        return helpers.hashdict(document_id)
    return document_id


def id_probes(values: Iterable[Any]) -> list[Hashable] | None:
    """Store keys to look up for pinned `_id` values, or None if one cannot be a store key."""
    probes: list[Hashable] = []
    for value in values:
        if isinstance(value, list | tuple):
            return None
        key = store_key(value)
        try:
            hash(key)
        except TypeError:
            return None
        probes.append(key)
    return probes
