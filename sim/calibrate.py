"""Calibration from the real code: run each storefront operation, read its OpenTelemetry spans,
and keep per operation the call tree with each service's CPU self time and its Redis calls.

Operations run one at a time on a warmed cluster, so a span's time not spent in its children
is time its service's event loop computed for it (the fake stores run on that loop too; Redis
calls are timed apart so a slower Redis can be asked about). That time is read on the loop
thread's CPU clock, not the wall clock, so a busy machine does not inflate it; and the loop's
turns in each segment are counted (`LoopTurns`), as a handler waits for the loop at each.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import platform as host
import random
import subprocess
import time
from bisect import bisect
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import get_current_span

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Role
from estore.kit.testing import free_ports
from estore.seed import seed
from loadtests import operations as ops
from loadtests.api import Api
from loadtests.scenario import Scenario
from loadtests.stage import demo, stage

CALIBRATIONS = Path(__file__).parent / "calibrations"
SEARCH_WORDS = ("phone", "tv", "flash", "shirt", "lamp", "book", "earbuds", "chair")
US = 1e6


@dataclass
class Node:
    """One service's part of a request: CPU segments around its groups of concurrent calls."""

    service: str
    route: str
    cpu: list[list[float]]
    groups: list[list[Node]]
    redis: list[list[float]] = field(default_factory=list)
    # Per segment, the loop turns each sample took (see LoopTurns); per sample, the turns
    # inside its Redis calls.
    turns: list[list[int]] = field(default_factory=list)
    redis_turns: list[int] = field(default_factory=list)

    def signature(self) -> str:
        inner = "|".join("+".join(c.signature() for c in g) for g in self.groups)
        return f"{self.service}:{self.route}({inner})"

    def merge(self, other: Node) -> None:
        for mine, theirs in zip(self.cpu, other.cpu, strict=True):
            mine.extend(theirs)
        for counted, more in zip(self.turns, other.turns, strict=True):
            counted.extend(more)
        self.redis.extend(other.redis)
        self.redis_turns.extend(other.redis_turns)
        for group, others in zip(self.groups, other.groups, strict=True):
            for child, twin in zip(group, others, strict=True):
                child.merge(twin)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "route": self.route,
            "cpu_us": [[round(s * US, 1) for s in seg] for seg in self.cpu],
            "redis_us": [[round(s * US, 1) for s in calls] for calls in self.redis],
            "turns": self.turns,
            "redis_turns": self.redis_turns,
            "groups": [[c.to_json() for c in g] for g in self.groups],
        }


class RedisTimer:
    """Times each Redis command by the server span it ran under (a wrapper on the store)."""

    def __init__(self) -> None:
        self.calls: dict[int, list[float]] = {}
        # When each call started (time_ns, the spans' clock), beside its seconds in `calls`.
        self.starts: dict[int, list[int]] = {}

    def wrap(self, redis: Any) -> None:
        if getattr(redis, "_sim_timed", False):
            return
        inner = redis.execute_command

        async def timed(*args: Any, **kwargs: Any) -> Any:
            began, started = time.time_ns(), time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                span_id = get_current_span().get_span_context().span_id
                self.calls.setdefault(span_id, []).append(time.perf_counter() - started)
                self.starts.setdefault(span_id, []).append(began)

        redis.execute_command = timed
        redis._sim_timed = True


class LoopTurns:
    """The event loop's turns per server span, and its CPU clock.

    Each run of a ready callback (a task resuming from an await, a transport reading) is a
    turn; between two turns of a handler any other ready handler may run, so under load each
    is a wait in the loop's queue. Counted on the loop itself (asyncio's `Handle._run`), by
    the span current in the handle's context when it starts (else when it ends).

    Each turn also marks the wall clock (the spans' clock) beside the thread's CPU clock at
    its start and end, so a span's wall-clock segments convert to the CPU the loop spent in
    them: on a busy machine the wall clock also counts the time the process waited for a
    core, which is the machine's, not the code's.
    """

    def __init__(self) -> None:
        self.turns: dict[int, list[int]] = {}
        self._wall: list[int] = []
        self._cpu: list[int] = []

    def clear(self) -> None:
        self.turns.clear()
        self._wall.clear()
        self._cpu.clear()

    def cpu_at(self, wall_ns: float) -> float:
        """The loop's CPU clock (ns) at a wall-clock instant: interpolated inside a turn,
        standing still between turns (the loop waits in select); the wall clock itself when
        no turn was seen."""
        if not self._wall:
            return wall_ns
        index = bisect(self._wall, wall_ns)
        if index == 0:
            return self._cpu[0]
        if index % 2 == 0 or index == len(self._wall):
            return self._cpu[index - 1]
        began, ended = self._wall[index - 1], self._wall[index]
        share = (wall_ns - began) / (ended - began) if ended > began else 1.0
        return self._cpu[index - 1] + share * (self._cpu[index] - self._cpu[index - 1])

    @contextlib.contextmanager
    def counting(self) -> Iterator[LoopTurns]:
        original = asyncio.events.Handle._run
        turns, wall, cpu = self.turns, self._wall, self._cpu
        wall_ns, cpu_ns = time.time_ns, time.thread_time_ns

        def run(handle: asyncio.Handle) -> None:
            context = handle._context  # type: ignore[attr-defined]
            before = context.run(_span_id)
            began = wall_ns()
            wall.append(began)
            cpu.append(cpu_ns())
            original(handle)
            cpu.append(cpu_ns())
            wall.append(wall_ns())
            span_id = before or context.run(_span_id)
            if span_id:
                turns.setdefault(span_id, []).append(began)

        asyncio.events.Handle._run = run  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            asyncio.events.Handle._run = original  # type: ignore[method-assign]


def _span_id() -> int:
    context = get_current_span().get_span_context()
    return context.span_id if context.is_valid else 0


def tree(
    spans: list[ReadableSpan], redis: RedisTimer, entry: str, turns: LoopTurns | None = None
) -> Node:
    """The call tree of one request from its server spans (the longest root at `entry`:
    background work may end spans meanwhile)."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans if s.context is not None}
    for span in spans:
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        by_parent.setdefault(parent, []).append(span)
    roots = [s for s in by_parent.get(None, []) if _service_of(s) == entry]
    if not roots:
        raise CalibrationError(f"a request to {entry} left no span of {entry}")
    root = max(roots, key=lambda s: (s.end_time or 0) - (s.start_time or 0))
    return _node(root, by_parent, redis, turns or LoopTurns())


def _node(
    span: ReadableSpan,
    by_parent: dict[int | None, list[ReadableSpan]],
    redis: RedisTimer,
    turns: LoopTurns,
) -> Node:
    assert span.context is not None and span.start_time and span.end_time
    children = sorted(by_parent.get(span.context.span_id, []), key=lambda s: s.start_time or 0)
    groups: list[list[ReadableSpan]] = []
    group_end = 0
    for child in children:
        assert child.start_time and child.end_time
        if groups and child.start_time < group_end:
            groups[-1].append(child)
            group_end = max(group_end, child.end_time)
        else:
            groups.append([child])
            group_end = child.end_time
    cpu = turns.cpu_at
    cursor, segments = span.start_time, []
    for group in groups:
        segments.append(max(0.0, cpu(group[0].start_time or 0) - cpu(cursor)) / 1e9)
        cursor = max(c.end_time or 0 for c in group)
    segments.append(max(0.0, cpu(span.end_time) - cpu(cursor)) / 1e9)
    # The fake Redis computes on the loop: each call's CPU, counted apart from the segments
    # (from the first segment on) so a slower Redis can be asked about.
    starts = redis.starts.get(span.context.span_id, [])
    redis_calls = [
        (cpu(at + seconds * 1e9) - cpu(at)) / 1e9
        for at, seconds in zip(starts, redis.calls.get(span.context.span_id, []), strict=True)
    ]
    owed = sum(redis_calls)
    for i, seconds in enumerate(segments):
        taken = min(seconds, owed)
        segments[i], owed = seconds - taken, owed - taken
    segment_turns, redis_turns = _turns(
        turns.turns.get(span.context.span_id, []),
        [g[0].start_time or 0 for g in groups],
        list(zip(starts, redis.calls.get(span.context.span_id, []), strict=True)),
    )
    attributes = span.attributes or {}
    return Node(
        service=_service_of(span),
        route=str(attributes.get("http.route", span.name)),
        cpu=[[s] for s in segments],
        groups=[[_node(c, by_parent, redis, turns) for c in g] for g in groups],
        redis=[list(redis_calls)],
        turns=[[n] for n in segment_turns],
        redis_turns=[redis_turns],
    )


def _turns(
    starts: list[int], group_starts: list[int], redis_calls: list[tuple[int, float]]
) -> tuple[list[int], int]:
    """A span's turns per CPU segment (a turn during a call group is its caller's sending and
    reading, so it counts to the segment after the group), and those inside its Redis calls."""
    segments = [0] * (len(group_starts) + 1)
    in_redis = 0
    for began in starts:
        if any(at <= began <= at + seconds * 1e9 for at, seconds in redis_calls):
            in_redis += 1
        else:
            segments[bisect(group_starts, began)] += 1
    return segments, in_redis


def _service_of(span: ReadableSpan) -> str:
    resource = span.resource.attributes if span.resource else {}
    return str(resource.get("service.name", "unknown"))


class CalibrationError(Exception):
    """A calibration could not be made or read; the message says what to do."""


@dataclass
class Request:
    service: str
    path: str
    body: dict[str, Any]
    token: str | None = None


@dataclass
class Visitor:
    """What the operations need: fixtures, a signed-in shopper and agent, a seeded source."""

    fixtures: dict[str, Any]
    rng: random.Random
    shopper: str = ""
    agent: str = ""
    admin: str = ""
    ticket: str = ""

    def product(self) -> str:
        return self.rng.choice(self.fixtures["browse_ids"])

    def order(self) -> dict[str, Any]:
        hot = self.fixtures["sale_product_ids"]
        item = self.rng.choice(hot) if self.rng.random() < 0.5 else self.product()
        codes = self.fixtures["coupon_codes"]
        return {
            "items": [{"product_id": item, "quantity": 1}],
            "card_number": self.fixtures["good_card"],
            "idempotency_key": f"{self.rng.getrandbits(128):032x}",
            "coupon_code": self.rng.choice(codes) if codes and self.rng.random() < 0.4 else None,
        }


def _gql(name: str, variables: dict[str, Any], token: str | None = None) -> Request:
    body = {"operationName": name, "query": ops.OPERATIONS[name], "variables": variables}
    return Request("gateway", "/graphql", body, token)


def _login(v: Visitor) -> Request:
    account = v.rng.choice(v.fixtures["shoppers"])
    return _gql("Login", {"email": account["email"], "password": account["password"]})


# The operations the Locust users send, by the name Locust's statistics give them.
REQUESTS: dict[str, Callable[[Visitor], Request]] = {
    "gql Products": lambda v: _gql("Products", {"first": 20, "after": None}),
    "gql Search": lambda v: _gql("Search", {"text": v.rng.choice(SEARCH_WORDS), "first": 20}),
    "gql Product": lambda v: _gql("Product", {"id": v.product()}),
    "gql CartCheck": lambda v: _gql("CartCheck", {"id": v.product()}),
    "gql Categories": lambda v: _gql("Categories", {}),
    "gql Login": _login,
    "gql CreateOrder": lambda v: _gql("CreateOrder", {"input": ops.camel(v.order())}, v.shopper),
    "gql MyOrders": lambda v: _gql("MyOrders", {"limit": 5}, v.shopper),
    "gql Restock": lambda v: _gql("Restock", {"id": v.product(), "quantity": 1}, v.admin),
    "gql CreateCoupon": lambda v: _gql(
        "CreateCoupon",
        {
            "input": {
                "code": f"SIM-{v.rng.getrandbits(40):010X}",
                "kind": "PERCENT",
                "percent": 5,
                "maxRedemptions": 10,
            }
        },
        v.admin,
    ),
    "rest OpenTicket": lambda v: Request(
        "ticket", "/api/v1/tickets", {"subject": "Where is it?", "body": "Pending."}, v.shopper
    ),
    "rest AgentReply": lambda v: Request(
        "ticket", f"/api/v1/tickets/{v.ticket}/messages", {"body": "Ships today."}, v.agent
    ),
}


@contextlib.asynccontextmanager
async def _cluster(
    scenario: Scenario, served: bool, exporter: InMemorySpanExporter
) -> AsyncIterator[Cluster]:
    wiring = Wiring(span_exporter=exporter, batch_spans=False)
    if not served:
        cluster = Cluster(wiring, overrides=scenario.server)
        await cluster.start()
        try:
            yield cluster
        finally:
            await cluster.stop()
        return
    from estore.cluster import SERVICES

    cluster = Cluster(
        wiring,
        served=True,
        ports=dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True)),
        overrides=scenario.server,
    )
    ready = asyncio.Event()
    serving = asyncio.create_task(cluster.serve("127.0.0.1", ready))
    await asyncio.wait([serving, asyncio.create_task(ready.wait())], return_when="FIRST_COMPLETED")
    if serving.done():
        serving.result()
        raise CalibrationError("the served cluster stopped during start-up")
    try:
        yield cluster
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


async def _send(cluster: Cluster, request: Request) -> tuple[dict[str, Any], float]:
    headers = {"Authorization": f"Bearer {request.token}"} if request.token else {}
    async with cluster.client(request.service, timeout=30) as client:
        started = time.perf_counter()
        response = await client.post(request.path, json=request.body, headers=headers)
        took = time.perf_counter() - started
    answer = response.json()
    if response.status_code >= 300 or (isinstance(answer, dict) and answer.get("errors")):
        raise CalibrationError(f"{request.path} answered {response.status_code}: {answer}")
    return answer, took


@dataclass
class Measured:
    """The shapes one operation's requests took (a coupon adds a call), commonest first."""

    wall_s: list[float]
    shapes: list[tuple[int, Node]]


async def _measure(
    cluster: Cluster,
    visitor: Visitor,
    name: str,
    repeats: int,
    exporter: InMemorySpanExporter,
    redis: RedisTimer,
    progress: Callable[[str], None],
) -> Measured:
    make = REQUESTS[name]
    for _ in range(3):  # warm caches (plans, validated documents) as a running system has them
        await _send(cluster, make(visitor))
    trees: list[Node] = []
    wall: list[float] = []
    turns = LoopTurns()
    for _ in range(repeats):
        exporter.clear()
        redis.calls.clear()
        redis.starts.clear()
        turns.clear()
        request = make(visitor)
        with turns.counting():
            _, took = await _send(cluster, request)
        spans = list(exporter.get_finished_spans())
        trees.append(tree(spans, redis, request.service, turns))
        wall.append(took)
    shapes = []
    for signature, count in Counter(t.signature() for t in trees).most_common():
        kept = [t for t in trees if t.signature() == signature]
        for other in kept[1:]:
            kept[0].merge(other)
        shapes.append((count, kept[0]))
    progress(
        f"  {name}: {repeats} samples, {len(shapes)} shape(s), most {shapes[0][1].signature()}"
    )
    return Measured(wall, shapes)


async def measure(
    scenario: Scenario, *, served: bool, repeats: int, progress: Callable[[str], None]
) -> dict[str, Measured]:
    exporter = InMemorySpanExporter()
    redis = RedisTimer()
    async with _cluster(scenario, served, exporter) as cluster:
        for infra in cluster.infras.values():
            redis.wrap(infra.redis)
        await seed(cluster, products=scenario.catalog_products)
        fixtures = await _stage(cluster, scenario)
        visitor = Visitor(fixtures, random.Random(scenario.seed))
        visitor.shopper = await _token(cluster, _login(visitor))
        support = fixtures["support"]
        visitor.agent = await _token(
            cluster, _gql("Login", {"email": support["email"], "password": support["password"]})
        )
        admin = fixtures["admin"]
        visitor.admin = await _token(
            cluster, _gql("Login", {"email": admin["email"], "password": admin["password"]})
        )
        opened, _ = await _send(cluster, REQUESTS["rest OpenTicket"](visitor))
        visitor.ticket = opened["id"]
        results = {}
        for name in REQUESTS:
            results[name] = await _measure(
                cluster, visitor, name, repeats, exporter, redis, progress
            )
        return results


class _GatewaySession:
    """A requests-like session that posts to the cluster's gateway on the cluster's own loop.

    Staging (loadtests.stage) is the Locust users' synchronous client of the public API; here it
    runs in a thread while the loop serves the in-process (or served) cluster.
    """

    def __init__(self, cluster: Cluster, loop: asyncio.AbstractEventLoop) -> None:
        self.cluster, self.loop = cluster, loop
        self.headers: dict[str, str] = {}

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        async with self.cluster.client("gateway", timeout=30) as client:
            return await client.post("/graphql", json=body, headers=self.headers)

    def post(self, url: str, json: dict[str, Any], timeout: float) -> httpx.Response:
        del url, timeout  # the gateway of this cluster, with the client's own timeout
        return asyncio.run_coroutine_threadsafe(self._post(json), self.loop).result()


async def _stage(cluster: Cluster, scenario: Scenario) -> dict[str, Any]:
    api = Api("http://gateway")
    api._session = _GatewaySession(cluster, asyncio.get_running_loop())  # type: ignore[assignment]
    return await asyncio.to_thread(stage, api, scenario, demo(Role.ADMIN))


async def _token(cluster: Cluster, request: Request) -> str:
    answer, _ = await _send(cluster, request)
    token: str = answer["data"]["login"]["accessToken"]
    return token


def _commit() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip()
    return "unknown"


def machine() -> dict[str, Any]:
    return {
        "node": host.node(),
        "system": f"{host.system()} {host.release()}",
        "processor": host.processor() or host.machine(),
        "cpus": os.cpu_count(),
        "python": host.python_version(),
        # How busy the machine was: the self times are CPU time, but a busy core still
        # computes slower (shared caches).
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def calibrate(
    scenario: Scenario,
    name: str,
    *,
    served: bool,
    repeats: int,
    progress: Callable[[str], None] = print,
    clock: Callable[[], dt.datetime] | None = None,
) -> dict[str, Any]:
    """Measure every operation and return the calibration document."""
    measured = asyncio.run(measure(scenario, served=served, repeats=repeats, progress=progress))
    now = (clock or (lambda: dt.datetime.now(dt.UTC)))()
    return {
        "name": name,
        "commit": _commit(),
        "machine": machine(),
        "created": now.isoformat(timespec="seconds"),
        "mode": "served" if served else "in-process",
        "scenario": scenario.name,
        "repeats": repeats,
        "operations": {
            op: {
                "samples": len(m.wall_s),
                "wall_ms_mean": round(sum(m.wall_s) / len(m.wall_s) * 1000, 3),
                "shapes": [
                    {"samples": count, "share": count / len(m.wall_s), "tree": node.to_json()}
                    for count, node in m.shapes
                ],
            }
            for op, m in measured.items()
        },
    }
