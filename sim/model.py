"""The SimPy twin: `run(config) -> Result` over the services' event loops, clients and stores.

A Python service is one event loop per process: a handler holds its loop (a SimPy resource of
capacity one) while it computes and releases it while it awaits a store or another service, so
requests queue for CPU the way they do in the real process. Calls between services carry the
clients' resilience (deadline, retries with full-jitter backoff, circuit breaker), and Redis
calls take a connection from a bounded pool; those numbers come from `sim.resilience`.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import simpy

from sim.resilience import Resilience

Proc = Generator[simpy.Event, Any, bool]


@dataclass(frozen=True)
class Demand:
    """A time in seconds: exponential around `mean`, the constant `mean`, or drawn from
    measured `samples`."""

    mean: float
    kind: Literal["exp", "const", "empirical"] = "exp"
    samples: tuple[float, ...] = ()

    def draw(self, rng: random.Random) -> float:
        if self.kind == "empirical" and self.samples:
            return rng.choice(self.samples)
        if self.kind == "exp" and self.mean > 0:
            return rng.expovariate(1.0 / self.mean)
        return self.mean


@dataclass(frozen=True)
class Cpu:
    """The handler computes on its service's loop."""

    demand: Demand


@dataclass(frozen=True)
class Store:
    """An awaited store call: the loop is free meanwhile; Redis calls hold a pool connection."""

    kind: Literal["mongo", "redis"]
    demand: Demand
    # An in-process fake computes on the caller's loop; a real store is awaited.
    computes: bool = False


@dataclass(frozen=True)
class Call:
    """A client call to `service`, whose handler runs `steps` there."""

    service: str
    steps: tuple[Step, ...]
    idempotent: bool = True
    # A failed optional call degrades the answer (a null field) instead of failing it.
    optional: bool = False
    attempts: int | None = None
    deadline_s: float | None = None


@dataclass(frozen=True)
class Parallel:
    """Branches awaited together (asyncio.gather): the handler waits for the slowest."""

    branches: tuple[tuple[Step, ...], ...]


@dataclass(frozen=True)
class Choice:
    """One of several shapes a request takes (a coupon adds a call), by measured share."""

    options: tuple[tuple[float, tuple[Step, ...]], ...]


Step = Cpu | Store | Call | Parallel | Choice


@dataclass(frozen=True)
class Operation:
    """What a client request does: it enters at `service` (the gateway for GraphQL)."""

    name: str
    service: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class OpenWorkload:
    """Poisson arrivals at `rate` per second, operations drawn by `mix` weight."""

    rate: float
    mix: Mapping[str, float]


@dataclass(frozen=True)
class ClosedWorkload:
    """Users over time (`users_at(t)`), each running sessions of operations with think times.

    `session(rng)` returns a user's plan: its opening operations and then an endless chooser.
    """

    users_at: Any
    think: tuple[float, float]
    roles: Mapping[str, float]
    start: Mapping[str, tuple[str, ...]]
    tasks: Mapping[str, Mapping[tuple[str, ...], float]]
    control_every_s: float = 1.0


@dataclass(frozen=True)
class Deployment:
    """Event loops per service; services in `shared` all run on one set of loops (the served
    cluster puts every app in one process); `cores` caps loops computing at once. `pooled`:
    a service's instances take work from one queue (a balancer sending to an idle instance)
    instead of round-robin queues of their own."""

    instances: Mapping[str, int] = field(default_factory=dict)
    shared: tuple[str, ...] = ()
    shared_instances: int = 1
    cores: int | None = None
    pooled: bool = False

    def loops(self, service: str) -> int:
        return self.shared_instances if service in self.shared else self.instances.get(service, 1)


@dataclass(frozen=True)
class WhatIf:
    """Changes to the world: a service's CPU `slower` by a factor, services `down`, each call
    to a store kind `store_added` seconds slower."""

    name: str = "as is"
    slower: Mapping[str, float] = field(default_factory=dict)
    down: tuple[str, ...] = ()
    store_added: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    operations: Mapping[str, Operation]
    workload: OpenWorkload | ClosedWorkload
    horizon_s: float
    warmup_s: float = 0.0
    deployment: Deployment = Deployment()
    resilience: Resilience = field(default_factory=Resilience.from_settings)
    what_if: WhatIf = WhatIf()
    seed: int = 0
    sample_every_s: float = 1.0


@dataclass
class Result:
    """Per-request records after warm-up, CPU busy time per service, sampled queue lengths."""

    horizon_s: float
    warmup_s: float
    operation: np.ndarray
    started: np.ndarray
    latency: np.ndarray
    ok: np.ndarray
    names: tuple[str, ...]
    busy_s: dict[str, float]
    loops: dict[str, int]
    samples: dict[str, list[tuple[float, int, float]]]
    breaker_opens: int = 0

    @property
    def measured_s(self) -> float:
        return self.horizon_s - self.warmup_s

    def throughput(self) -> float:
        return float(self.ok.sum()) / self.measured_s

    def of(self, name: str) -> np.ndarray:
        return self.operation == self.names.index(name)

    def percentile(self, q: float, name: str | None = None) -> float:
        chosen = self.ok if name is None else self.ok & self.of(name)
        values = self.latency[chosen]
        return float(np.percentile(values, q)) if len(values) else float("nan")

    def failure_ratio(self) -> float:
        return float(1 - self.ok.mean()) if len(self.ok) else 0.0

    def utilisation(self) -> dict[str, float]:
        return {
            s: busy / (self.loops[s] * self.measured_s) if self.loops[s] else 0.0
            for s, busy in self.busy_s.items()
        }


class _Breaker:
    """The kit breaker's states on the simulated clock: `threshold` failures in a row open
    it; after `reset_s` one trial call may close it again."""

    def __init__(self, env: simpy.Environment, threshold: int, reset_s: float) -> None:
        self._env, self._threshold, self._reset_s = env, threshold, reset_s
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self.opens = 0

    def admit(self) -> bool:
        if self._opened_at is None:
            return True
        if self._env.now - self._opened_at < self._reset_s or self._trial:
            return False
        self._trial = True
        return True

    def record(self, ok: bool) -> None:
        if ok:
            self._failures, self._opened_at, self._trial = 0, None, False
            return
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opened_at, self._failures, self._trial = self._env.now, 0, False
            self.opens += 1


class _Service:
    def __init__(self, env: simpy.Environment, loops: int, pooled: bool) -> None:
        self.count = loops
        if pooled:
            self.loops = [simpy.Resource(env, capacity=loops)]
        else:
            self.loops = [simpy.Resource(env, capacity=1) for _ in range(loops)]
        self.busy = 0.0
        self._next = 0

    def pick(self) -> simpy.Resource:
        self._next = (self._next + 1) % len(self.loops)
        return self.loops[self._next]


class Twin:
    """One simulated world: services, breakers per (caller, callee), the Redis pool."""

    def __init__(self, config: Config, env: simpy.Environment) -> None:
        self.config, self.env = config, env
        self.rng = random.Random(config.seed)
        self.res = config.resilience
        deployment = config.deployment
        shared = _Service(env, deployment.shared_instances, deployment.pooled)
        self.services: dict[str, _Service] = {}
        for name in _services(config.operations.values()):
            if name in config.what_if.down:
                continue
            if name in deployment.shared:
                self.services[name] = shared
            else:
                loops = deployment.loops(name)
                if loops < 1:
                    raise ValueError(f"{name}: a deployment needs at least one instance")
                self.services[name] = _Service(env, loops, deployment.pooled)
        self.cores = simpy.Resource(env, deployment.cores) if deployment.cores else None
        self.redis = simpy.Resource(env, capacity=self.res.redis_pool)
        self.breakers: dict[tuple[str, str], _Breaker] = {}
        self.cpu_of: dict[str, float] = {}

    def request(self, operation: Operation) -> Proc:
        ok = yield from self.handle(operation.service, operation.steps)
        return ok

    def handle(self, service: str, steps: Sequence[Step]) -> Proc:
        where = self.services.get(service)
        if where is None:
            return False
        ok = yield from self.handle_on(service, where, where.pick(), steps)
        return ok

    def handle_on(
        self, service: str, where: _Service, loop: simpy.Resource, steps: Sequence[Step]
    ) -> Proc:
        slower = self.config.what_if.slower.get(service, 1.0)
        for step in steps:
            if isinstance(step, Cpu):
                yield from self._compute(where, loop, step.demand.draw(self.rng) * slower, service)
            elif isinstance(step, Store):
                if step.computes:
                    yield from self._compute(where, loop, step.demand.draw(self.rng), service)
                yield from self._store(step)
            elif isinstance(step, Call):
                if not (yield from self.call(service, step)) and not step.optional:
                    return False
            elif isinstance(step, Choice):
                weights = [share for share, _ in step.options]
                chosen = self.rng.choices(step.options, weights)[0][1]
                if not (yield from self.handle_on(service, where, loop, chosen)):
                    return False
            else:
                branches = [
                    self.env.process(self.handle_on(service, where, loop, b)) for b in step.branches
                ]
                done = yield self.env.all_of(branches)
                if not all(done.values()):
                    return False
        return True

    def _compute(self, where: _Service, loop: simpy.Resource, seconds: float, name: str) -> Any:
        with loop.request() as turn:
            yield turn
            if self.cores is None:
                yield self.env.timeout(seconds)
            else:
                with self.cores.request() as core:
                    yield core
                    yield self.env.timeout(seconds)
        if self.env.now >= self.config.warmup_s:
            where.busy += seconds
            self.cpu_of[name] = self.cpu_of.get(name, 0.0) + seconds

    def _store(self, step: Store) -> Any:
        seconds = self.config.what_if.store_added.get(step.kind, 0.0)
        if not step.computes:
            seconds += step.demand.draw(self.rng)
        if seconds <= 0:
            return
        if step.kind == "redis":
            with self.redis.request() as connection:
                yield connection
                yield self.env.timeout(seconds)
        else:
            yield self.env.timeout(seconds)

    def call(self, caller: str, call: Call) -> Proc:
        """The kit client: breaker admission, attempts within the deadline, backoff between."""
        env, res = self.env, self.res
        breaker = self._breaker(caller, call.service)
        deadline = call.deadline_s or res.deadline_for(caller, call.service)
        deadline_at = env.now + deadline
        attempts = call.attempts or res.attempts_for(call.service, call.idempotent)
        for attempt in range(1, attempts + 1):
            if not breaker.admit():
                return False
            attempt_s = deadline_at - env.now
            if res.retry.attempt_timeout is not None:
                attempt_s = min(attempt_s, res.retry.attempt_timeout)
            ok = yield from self._attempt(call, attempt_s)
            breaker.record(ok)
            if ok:
                return True
            ceiling = min(res.retry.max_backoff, res.retry.backoff * 2 ** (attempt - 1))
            pause = self.rng.uniform(0.0, ceiling)
            if attempt == attempts or env.now + pause >= deadline_at:
                return False
            yield env.timeout(pause)
        return False

    def _attempt(self, call: Call, seconds: float) -> Proc:
        if call.service not in self.services:
            yield self.env.timeout(0)
            return False
        handler = self.env.process(self.handle(call.service, call.steps))
        timer = self.env.timeout(seconds)
        done = yield handler | timer
        return handler in done and bool(done[handler])

    def _breaker(self, caller: str, callee: str) -> _Breaker:
        key = (caller, callee)
        if key not in self.breakers:
            policy = self.res.breaker
            self.breakers[key] = _Breaker(self.env, policy.failure_threshold, policy.reset_timeout)
        return self.breakers[key]


def _services(operations: Any) -> list[str]:
    found: dict[str, None] = {}

    def walk(service: str, steps: Sequence[Step]) -> None:
        found[service] = None
        for step in steps:
            if isinstance(step, Call):
                walk(step.service, step.steps)
            elif isinstance(step, Parallel):
                for branch in step.branches:
                    walk(service, branch)
            elif isinstance(step, Choice):
                for _, option in step.options:
                    walk(service, option)

    for operation in operations:
        walk(operation.service, operation.steps)
    return list(found)


class _Recorder:
    def __init__(self, names: tuple[str, ...], warmup_s: float) -> None:
        self.names, self.warmup_s = names, warmup_s
        self.index = {n: i for i, n in enumerate(names)}
        self.rows: list[tuple[int, float, float, bool]] = []

    def timed(self, env: simpy.Environment, twin: Twin, operation: Operation) -> Proc:
        started = env.now
        ok = yield from twin.request(operation)
        if started >= self.warmup_s:
            self.rows.append((self.index[operation.name], started, env.now - started, ok))
        return ok


def _open_arrivals(env: simpy.Environment, twin: Twin, rec: _Recorder, w: OpenWorkload) -> Any:
    ops = twin.config.operations
    names = list(w.mix)
    weights = [w.mix[n] for n in names]
    rng = random.Random(twin.config.seed + 1)
    while True:
        yield env.timeout(rng.expovariate(w.rate))
        name = rng.choices(names, weights)[0] if len(names) > 1 else names[0]
        env.process(rec.timed(env, twin, ops[name]))


def _user(
    env: simpy.Environment,
    twin: Twin,
    rec: _Recorder,
    w: ClosedWorkload,
    number: int,
    stop: simpy.Event,
) -> Any:
    rng = random.Random(f"{twin.config.seed}:user:{number}")
    ops = twin.config.operations
    role = rng.choices(list(w.roles), list(w.roles.values()))[0]
    for name in w.start.get(role, ()):
        yield from rec.timed(env, twin, ops[name])
    tasks = w.tasks[role]
    plans, weights = list(tasks), list(tasks.values())
    while not stop.triggered:
        for name in rng.choices(plans, weights)[0]:
            yield from rec.timed(env, twin, ops[name])
        yield env.timeout(rng.uniform(*w.think))


def _population(env: simpy.Environment, twin: Twin, rec: _Recorder, w: ClosedWorkload) -> Any:
    """Start and stop users to follow `users_at(t)`, as Locust's load shape does."""
    running: list[simpy.Event] = []
    number = 0
    while True:
        target = w.users_at(env.now)
        if target is None:
            return
        while len(running) < target:
            stop = env.event()
            env.process(_user(env, twin, rec, w, number, stop))
            running.append(stop)
            number += 1
        while len(running) > target:
            running.pop().succeed()
        yield env.timeout(w.control_every_s)


def _sampler(env: simpy.Environment, twin: Twin, samples: dict[str, list[Any]]) -> Any:
    last = {name: 0.0 for name in twin.services}
    every = twin.config.sample_every_s
    while True:
        yield env.timeout(every)
        for name, service in twin.services.items():
            queued = sum(len(loop.queue) for loop in service.loops)
            busy = twin.cpu_of.get(name, 0.0)
            samples[name].append((env.now, queued, (busy - last[name]) / every))
            last[name] = busy


def run(config: Config) -> Result:
    """Simulate `config` for its horizon; the same config and seed give the same result."""
    env = simpy.Environment()
    twin = Twin(config, env)
    names = tuple(config.operations)
    rec = _Recorder(names, config.warmup_s)
    samples: dict[str, list[tuple[float, int, float]]] = {n: [] for n in twin.services}
    if isinstance(config.workload, OpenWorkload):
        env.process(_open_arrivals(env, twin, rec, config.workload))
    else:
        env.process(_population(env, twin, rec, config.workload))
    env.process(_sampler(env, twin, samples))
    env.run(until=config.horizon_s)
    rows = np.array(rec.rows, dtype=float).reshape(-1, 4)
    return Result(
        horizon_s=config.horizon_s,
        warmup_s=config.warmup_s,
        operation=rows[:, 0].astype(int),
        started=rows[:, 1],
        latency=rows[:, 2],
        ok=rows[:, 3].astype(bool),
        names=names,
        busy_s={n: twin.cpu_of.get(n, 0.0) for n in twin.services},
        loops={n: s.count for n, s in twin.services.items()},
        samples=samples,
        breaker_opens=sum(b.opens for b in twin.breakers.values()),
    )
