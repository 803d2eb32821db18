"""Filters compiled to Python predicates, once per filter shape, that answer as mongomock does.

A filter's shape is its structure with the literal values taken out (fields, operators, the
kinds of the values); the compiled predicate for a shape is cached and called with the
values of each filter. The predicate decides natively when the value at a path is a plain
scalar (None, bool, int, float, str, naive datetime, ObjectId, or missing) and the operator
is one of `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex` or a literal; for anything else
(arrays, sub-documents, other operators, values of other types) it asks mongomock's matcher
about that one clause and that one document, so every answer is mongomock's.

`Predicate.total` says that evaluating it on any document cannot raise: a caller may then stop
reading documents once it has enough, and no error that mongomock would meet further on is
skipped. Clauses handed to mongomock that can raise (unknown operators, bad operands) clear it.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from bson import ObjectId
from mongomock.filtering import filter_applies
from sentinels import NOTHING

Document = dict[str, Any]
Matcher = Callable[[Document, tuple[Any, ...]], bool]

# The value at a path: missing (NOTHING), a path through a non-document (no candidates at all,
# as mongomock's iter_key_candidates gives), or a path through an array (mongomock decides).
_DEAD = object()
_ARRAY = object()

# mongomock's BSON comparison ranks (`_get_compare_type`), for exact types only.
_RANKS: dict[type, int] = {
    type(None): 5,
    bool: 40,
    int: 10,
    float: 10,
    str: 15,
    ObjectId: 35,
    datetime: 45,
}
_COMPARISONS = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}
_NATIVE_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$exists", "$regex", "$options", *_COMPARISONS}
_LOGICAL = ("$and", "$or", "$nor")
_REGEX_FLAGS = {"i": re.I, "m": re.M, "x": re.X, "s": re.S}
_SMALL_SET = 8  # above this many `$in` values a frozenset beats a tuple scan


class Predicate(NamedTuple):
    test: Callable[[Document], bool]
    total: bool  # never raises, so a scan may stop early


class _Raw(Exception):
    """This clause is left to mongomock's matcher."""


def compile_filter(query: Any) -> Predicate | None:
    """The filter as a predicate, or None when it is not a dict of string keys."""
    if type(query) is not dict:
        return None
    params: list[Any] = []
    try:
        shape = _describe(query, params)
    except TypeError:
        return None
    matcher, total = _compiled(shape)
    values = tuple(params)
    return Predicate(lambda doc: matcher(doc, values), total)


# --- describing a filter: its shape (hashable, cached on) and its values ---------------------


def _describe(query: dict[str, Any], params: list[Any]) -> tuple[Any, ...]:
    clauses = []
    for key, search in query.items():
        if type(key) is not str:
            raise TypeError("a filter key that is not a string")
        if key == "$comment":
            continue
        clauses.append(_describe_clause(key, search, params))
    return ("and", tuple(clauses))


def _describe_clause(key: str, search: Any, params: list[Any]) -> tuple[Any, ...]:
    if key in _LOGICAL:
        if isinstance(search, list) and search and all(type(q) is dict for q in search):
            return (key, tuple(_describe(q, params) for q in search))
        return _raw(key, search, params, total=False)
    if key.startswith("$") or not key or "" in key.split("."):
        return _raw(key, search, params, total=False)
    if type(search) is dict and search and all(str(op).startswith("$") for op in search):
        start = len(params)
        try:
            return _describe_operators(key, search, params)
        except _Raw:
            del params[start:]
            return _raw(key, search, params, total=False)
    if type(search) in _RANKS and not _aware(search):
        params.extend((search, {key: search}))
        return ("eq", key)
    # Literal documents and arrays compare by equality; mongomock decides and cannot fail.
    return _raw(key, search, params, total=type(search) in (dict, list, tuple))


def _raw(key: str, search: Any, params: list[Any], *, total: bool) -> tuple[Any, ...]:
    params.append({key: search})
    return ("raw", total)


def _describe_operators(path: str, search: dict[str, Any], params: list[Any]) -> tuple[Any, ...]:
    if not set(search) <= _NATIVE_OPERATORS:
        raise _Raw
    if "$options" in search and "$regex" not in search:
        raise _Raw  # mongomock: unknown operator
    params.append({path: search})
    tokens = []
    for op, operand in search.items():
        if op == "$options":
            continue
        tokens.append(op)
        params.append(_operand(op, operand, search))
    # mongomock: a path through a non-document has no candidates; `{"$exists": False}` then
    # matches, and so does a filter of only negative operators.
    exists_false = search == {"$exists": False}
    positive = bool(set(search) - {"$ne", "$nin"})
    return ("ops", path, tuple(tokens), exists_false or not positive)


def _operand(op: str, operand: Any, search: dict[str, Any]) -> Any:
    if op in ("$eq", "$ne"):
        return _scalar(operand)
    if op in _COMPARISONS:
        return (_RANKS[type(_scalar(operand))], operand)
    if op in ("$in", "$nin"):
        if not isinstance(operand, list | tuple):
            raise _Raw
        values = tuple(_scalar(value) for value in operand)
        return frozenset(values) if len(values) > _SMALL_SET else values
    if op == "$exists":
        return bool(operand)
    return _regex(operand, search.get("$options"))


def _scalar(value: Any) -> Any:
    if type(value) not in _RANKS or _aware(value):
        raise _Raw
    return value


def _aware(value: Any) -> bool:
    # Stored datetimes are naive UTC: comparing an aware one with them raises.
    return type(value) is datetime and value.tzinfo is not None


def _regex(pattern: Any, options: Any) -> re.Pattern[str]:
    flags = 0
    if options is not None:
        if not isinstance(options, str):
            raise _Raw
        for letter in options:
            flags |= _REGEX_FLAGS.get(letter, 0)
    try:
        if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
            return re.compile(pattern.pattern, pattern.flags | flags)
        if isinstance(pattern, str):
            return re.compile(pattern, flags)
    except re.error:
        pass
    raise _Raw


# --- compiling a shape -----------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _compiled(shape: tuple[Any, ...]) -> tuple[Matcher, bool]:
    return _build(shape, itertools.count())


def _build(shape: tuple[Any, ...], slots: Any) -> tuple[Matcher, bool]:
    kind = shape[0]
    if kind == "and":
        parts = [_build(clause, slots) for clause in shape[1]]
        return _all([m for m, _ in parts]), all(total for _, total in parts)
    if kind in _LOGICAL:
        parts = [_build(query, slots) for query in shape[1]]
        total = all(t for _, t in parts)
        matchers = [m for m, _ in parts]
        if kind == "$and":
            return _all(matchers), total
        if kind == "$or":
            return _any(matchers), total
        return _none(matchers), total
    if kind == "raw":
        slot = next(slots)
        return (lambda doc, p: filter_applies(p[slot], doc)), shape[1]
    if kind == "eq":
        return _equality(shape[1], next(slots), next(slots)), True
    _, path, tokens, dead_result = shape
    raw_slot = next(slots)
    tests = [_operator_test(token, next(slots)) for token in tokens]
    return _operators(path, raw_slot, tests, dead_result), True


def _all(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    return lambda doc, p: all(m(doc, p) for m in matchers)


def _any(matchers: list[Matcher]) -> Matcher:
    return lambda doc, p: any(m(doc, p) for m in matchers)


def _none(matchers: list[Matcher]) -> Matcher:
    return lambda doc, p: not any(m(doc, p) for m in matchers)


def _resolver(path: str) -> Callable[[Document], Any]:
    """The value at `path`: a scalar, NOTHING, _DEAD or _ARRAY (see module top)."""
    if "." not in path:
        return lambda doc: doc.get(path, NOTHING)
    *steps, last = path.split(".")

    def resolve(doc: Document) -> Any:
        current: Any = doc
        for step in steps:
            current = current.get(step, NOTHING)
            if current is NOTHING:
                return NOTHING
            if not isinstance(current, dict):
                return _ARRAY if isinstance(current, list) else _DEAD
        return current.get(last, NOTHING)

    return resolve


def _native(value: Any) -> bool:
    return value is NOTHING or (type(value) in _RANKS and not _aware(value))


def _equality(path: str, value_slot: int, raw_slot: int) -> Matcher:
    resolve = _resolver(path)

    def match(doc: Document, p: tuple[Any, ...]) -> bool:
        value = resolve(doc)
        if value is _DEAD:
            return False
        if not _native(value):
            return filter_applies(p[raw_slot], doc)
        if value is NOTHING:
            return p[value_slot] is None
        return bool(value == p[value_slot])

    return match


OperatorTest = Callable[[Any, tuple[Any, ...]], bool]


def _operators(path: str, raw_slot: int, tests: list[OperatorTest], dead: bool) -> Matcher:
    resolve = _resolver(path)

    def match(doc: Document, p: tuple[Any, ...]) -> bool:
        value = resolve(doc)
        if value is _DEAD:
            return dead
        if not _native(value):
            return filter_applies(p[raw_slot], doc)
        return all(test(value, p) for test in tests)

    return match


def _operator_test(op: str, slot: int) -> OperatorTest:
    if op == "$eq":
        return lambda v, p: _equal(v, p[slot])
    if op == "$ne":
        return lambda v, p: not _equal(v, p[slot])
    if op in _COMPARISONS:
        compare = _COMPARISONS[op]
        return lambda v, p: _compare(compare, v, p[slot])
    if op == "$in":
        return lambda v, p: _contained(v, p[slot])
    if op == "$nin":
        return lambda v, p: not _contained(v, p[slot])
    if op == "$exists":
        return lambda v, p: p[slot] == (v is not NOTHING)
    return lambda v, p: type(v) is str and p[slot].search(v) is not None


def _equal(value: Any, operand: Any) -> bool:
    if value is NOTHING:
        return operand is None
    return bool(value == operand)


def _compare(compare: Callable[[Any, Any], Any], value: Any, operand: tuple[int, Any]) -> bool:
    # Type bracketing: values of different BSON types never compare; null compares as equal.
    if value is NOTHING:
        return False
    rank, other = operand
    if _RANKS[type(value)] != rank:
        return False
    if rank == 5:
        return bool(compare(0, 0))
    return bool(compare(value, other))


def _contained(value: Any, values: Any) -> bool:
    if value is NOTHING:
        return None in values
    return value in values
