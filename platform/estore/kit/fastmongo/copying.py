"""Copies of documents in one pass, sharing immutable leaves, equal to mongomock's own.

mongomock copies a document field by field (`copy.copy` on every leaf) and, for tz_aware
clients, rebuilds it a second time to mark datetimes UTC. Immutable leaves need no copy,
so plain documents are copied (and converted) in one walk; any other value goes through
mongomock's own two steps, so the result is the same either way. Writes likewise: the
snapshot an update takes (`copy.deepcopy`) and the datetime pass over filters and update
documents are done in one walk over dicts, lists and immutable leaves.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from bson import ObjectId
from mongomock import helpers
from mongomock.collection import _copy_field

_IMMUTABLE = frozenset({str, int, float, bool, type(None), ObjectId, bytes})


def copied(value: Any, aware: bool) -> Any:
    """What mongomock hands out for the stored `value` (tz-aware datetimes when `aware`)."""
    kind = type(value)
    if kind is dict:
        return {key: copied(item, aware) for key, item in value.items()}
    if kind is list:
        return [copied(item, aware) for item in value]
    if kind in _IMMUTABLE:
        return value
    if kind is dt.datetime:
        return value.replace(tzinfo=helpers.utc) if aware else value
    plain = _copy_field(value, dict)
    return helpers.make_datetime_timezone_aware_in_document(plain) if aware else plain


def deep_copied(value: Any) -> Any:
    """`copy.deepcopy(value)` for stored documents, sharing the immutable leaves."""
    kind = type(value)
    if kind is dict:
        return {key: deep_copied(item) for key, item in value.items()}
    if kind is list:
        return [deep_copied(item) for item in value]
    if kind in _IMMUTABLE or kind is dt.datetime:
        return value
    return copy.deepcopy(value)


def patched(value: Any) -> Any:
    """What mongomock's `patch_datetime_awareness_in_document(value)` gives (fresh dicts and
    lists, datetimes naive UTC at millisecond precision), without its per-value type tests
    for the immutable leaves that it returns unchanged."""
    kind = type(value)
    if kind is dict:
        return {key: patched(item) for key, item in value.items()}
    if kind is list:
        return [patched(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return helpers.patch_datetime_awareness_in_document(value)
