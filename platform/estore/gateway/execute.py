"""Plan execution: run fetches as their dependencies complete and merge answers into one tree.

Each `_entities` fetch gathers every object at its path (one request per subgraph and level,
however long the lists), sends each distinct representation once, and merges the answers back.
A fetch that fails leaves `Failure` markers where its fields would be, so that shaping can null
exactly those fields and let non-null violations propagate as the GraphQL spec says.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from estore.gateway.errors import DOWNSTREAM_SERVICE_ERROR
from estore.gateway.plan_model import LIST, Fetch, QueryPlan, RepField

PathKey = list[str | int]


class SubgraphFetcher(Protocol):
    async def fetch(
        self, subgraph: str, query: str, variables: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        """Send one operation to a subgraph; return its JSON response ({data, errors})."""
        ...


@dataclass(eq=False)
class Failure:
    """Stands where a failed fetch's fields would be; reported once, at its first client path."""

    error: dict[str, Any]


@dataclass
class Outcome:
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def downstream_error(
    subgraph: str, message: str, path: PathKey | None, extensions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A subgraph's error as Apollo Gateway reports it: the subgraph's own code kept, if any.

    Apollo falls back to DOWNSTREAM_SERVICE_ERROR only for an error without a code.
    """
    error: dict[str, Any] = {"message": message}
    if path:
        error["path"] = path
    ext = dict(extensions or {})
    if not ext.get("code"):
        ext["code"] = DOWNSTREAM_SERVICE_ERROR
    error["extensions"] = {**ext, "serviceName": subgraph}
    return error


async def execute_plan(
    plan: QueryPlan,
    fetcher: SubgraphFetcher,
    variables: Mapping[str, Any],
    headers: Mapping[str, str],
) -> Outcome:
    outcome = Outcome()
    tasks: dict[int, asyncio.Task[None]] = {}

    async def run(fetch: Fetch) -> None:
        if fetch.depends_on:
            await asyncio.gather(*(tasks[d] for d in fetch.depends_on))
        await _run_fetch(fetch, fetcher, variables, headers, outcome)

    for fetch in plan.fetches:
        tasks[fetch.id] = asyncio.ensure_future(run(fetch))
    if tasks:
        await asyncio.gather(*tasks.values())
    return outcome


async def _run_fetch(
    fetch: Fetch,
    fetcher: SubgraphFetcher,
    variables: Mapping[str, Any],
    headers: Mapping[str, str],
    outcome: Outcome,
) -> None:
    fetch_vars = {name: variables[name] for name in fetch.variables if name in variables}
    if fetch.entity:
        await _run_entity_fetch(fetch, fetcher, fetch_vars, headers, outcome)
        return
    try:
        response = await fetcher.fetch(fetch.subgraph, fetch.query, fetch_vars, headers)
    except Exception as exc:
        _fail_root(fetch, exc, outcome)
        return
    errors = response.get("errors") or []
    for error in errors:
        outcome.errors.append(_map_error(fetch.subgraph, error, lambda p: p))
    data = response.get("data")
    if isinstance(data, dict):
        merge(outcome.data, restore_keys(data, fetch.wire_keys) if fetch.wire_keys else data)
    elif not errors:
        _fail_root(fetch, ValueError("response has neither data nor errors"), outcome)


def _fail_root(fetch: Fetch, exc: Exception, outcome: Outcome) -> None:
    for key in fetch.owned_keys():
        failure = Failure(_failure_error(fetch, exc, [key]))
        outcome.failures.append(failure)
        outcome.data[key] = failure


def _failure_error(fetch: Fetch, exc: Exception, path: PathKey | None) -> dict[str, Any]:
    reason = str(exc) or type(exc).__name__
    return downstream_error(fetch.subgraph, f"Subgraph '{fetch.subgraph}' failed: {reason}", path)


def _map_error(subgraph: str, error: Mapping[str, Any], map_path: Any) -> dict[str, Any]:
    path = error.get("path")
    mapped = map_path(list(path)) if path else None
    return downstream_error(
        subgraph, str(error.get("message", "")), mapped, error.get("extensions")
    )


@dataclass
class _Target:
    obj: dict[str, Any]
    path: PathKey
    type_name: str


def collect_targets(data: Any, steps: tuple[str, ...], types: frozenset[str]) -> list[_Target]:
    """Objects at a plan path whose __typename the fetch handles, with their response paths."""
    found: list[_Target] = []

    def walk(value: Any, index: int, path: PathKey) -> None:
        if isinstance(value, list):
            for position, item in enumerate(value):
                walk(item, index + (index < len(steps) and steps[index] == LIST), [*path, position])
            return
        if not isinstance(value, dict):
            return
        if index == len(steps):
            type_name = value.get("__typename")
            if type_name in types:
                found.append(_Target(value, path, type_name))
            return
        if steps[index] == LIST:
            return
        walk(value.get(steps[index]), index + 1, [*path, steps[index]])

    walk(data, 0, [])
    return found


class _Missing:
    """An input of a representation is absent (or stands for an upstream Failure)."""

    def __init__(self, failure: Failure | None = None) -> None:
        self.failure = failure


def build_representation(obj: Mapping[str, Any], fields: Mapping[str, RepField]) -> Any:
    """The representation of one object, or a _Missing naming the failure that prevents it."""
    rep: dict[str, Any] = {}
    for rep_field in fields.values():
        value = _read(obj.get(rep_field.response_key), rep_field.children)
        if isinstance(value, _Missing):
            return value
        rep[rep_field.name] = value
    return rep


def _read(value: Any, children: tuple[RepField, ...] | None) -> Any:
    if value is None or isinstance(value, Failure):
        return _Missing(value if isinstance(value, Failure) else None)
    if children is None:
        return value
    if isinstance(value, list):
        items = [_read(v, children) for v in value]
        return next((i for i in items if isinstance(i, _Missing)), items)
    return build_representation(value, {c.name: c for c in children})


async def _run_entity_fetch(
    fetch: Fetch,
    fetcher: SubgraphFetcher,
    variables: dict[str, Any],
    headers: Mapping[str, str],
    outcome: Outcome,
) -> None:
    targets = collect_targets(outcome.data, fetch.path, fetch.types)
    groups: dict[str, list[_Target]] = {}
    representations: list[dict[str, Any]] = []
    for target in targets:
        rep = build_representation(target.obj, fetch.representations[target.type_name])
        if isinstance(rep, _Missing):
            if rep.failure is not None:  # our input failed upstream: null our fields with it
                _mark(fetch, [target], rep.failure)
            continue
        rep = {"__typename": target.type_name, **rep}
        identity = json.dumps(rep, sort_keys=True, default=str)
        if identity not in groups:
            groups[identity] = []
            representations.append(rep)
        groups[identity].append(target)
    if not representations:
        return
    ordered = list(groups.values())
    variables = {**variables, fetch.representations_variable: representations}
    try:
        response = await fetcher.fetch(fetch.subgraph, fetch.query, variables, headers)
    except Exception as exc:
        served = [t for group in ordered for t in group]
        failure = Failure(_failure_error(fetch, exc, _failure_path(fetch, served)))
        outcome.failures.append(failure)
        _mark(fetch, served, failure)
        return
    for error in response.get("errors") or []:
        outcome.errors.append(_map_error(fetch.subgraph, error, lambda p: _entity_path(p, ordered)))
    entities = (response.get("data") or {}).get("_entities")
    if fetch.wire_keys:
        entities = restore_keys(entities, fetch.wire_keys)
    if not isinstance(entities, list) or len(entities) != len(ordered):
        if not response.get("errors"):
            failure = Failure(downstream_error(fetch.subgraph, "Invalid _entities response", None))
            outcome.failures.append(failure)
            _mark(fetch, [t for group in ordered for t in group], failure)
        return
    for entity, group in zip(entities, ordered, strict=True):
        if isinstance(entity, dict):
            for target in group:
                merge(target.obj, entity)


def _failure_path(fetch: Fetch, targets: list[_Target]) -> PathKey | None:
    first = targets[0]
    keys = fetch.owned_keys(first.type_name)
    return [*first.path, keys[0]] if keys else first.path


def _mark(fetch: Fetch, targets: list[_Target], failure: Failure) -> None:
    """Put one shared Failure where the fetch's fields would be on every object it serves."""
    for target in targets:
        for key in fetch.owned_keys(target.type_name):
            target.obj[key] = failure


def _entity_path(path: PathKey, groups: list[list[_Target]]) -> PathKey:
    if len(path) >= 2 and path[0] == "_entities" and isinstance(path[1], int):
        if 0 <= path[1] < len(groups):
            return [*groups[path[1]][0].path, *path[2:]]
    return path


def restore_keys(value: Any, wire_keys: Mapping[str, str]) -> Any:
    """A subgraph answer with the fields the plan aliased apart under their own names again."""
    if isinstance(value, list):
        return [restore_keys(item, wire_keys) for item in value]
    if isinstance(value, dict):
        return {wire_keys.get(k, k): restore_keys(v, wire_keys) for k, v in value.items()}
    return value


def merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """Deep-merge a subgraph answer into the response tree (lists merge item by item)."""
    for key, value in source.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge(current, value)
        elif isinstance(current, list) and isinstance(value, list) and len(current) == len(value):
            _merge_lists(current, value)
        else:
            target[key] = value


def _merge_lists(current: list[Any], value: list[Any]) -> None:
    for index, (old, new) in enumerate(zip(current, value, strict=True)):
        if isinstance(old, dict) and isinstance(new, dict):
            merge(old, new)
        elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
            _merge_lists(old, new)
        else:
            current[index] = new
