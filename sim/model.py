"""The SimPy twin: `run(config) -> Result` over the services' event loops, clients and stores.

A Python service is one event loop per process: a handler holds its loop (a SimPy resource of
capacity one) while it computes and releases it while it awaits a store or another service, so
requests queue for CPU the way they do in the real process. Calls between services carry the
clients' resilience (deadline, retries with full-jitter backoff, circuit breaker), and Redis
calls take a connection from a bounded pool; those numbers come from `sim.resilience`.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Literal

import numpy as np
import simpy
from simpy.core import NORMAL

from sim.resilience import Resilience

Proc = Generator[simpy.Event, Any, bool]


@dataclass(frozen=True)
class Demand:
    """A time in seconds: exponential around `mean`, the constant `mean`, or drawn from
    measured `samples`."""

    mean: float
    kind: Literal["exp", "const", "empirical"] = "exp"
    samples: tuple[float, ...] = ()

    def sampler(self, rng: random.Random, factor: float = 1.0) -> Callable[[], float]:
        """A draw of this time scaled by `factor`, bound to `rng` once instead of per draw."""
        uniform = rng.random
        if self.kind == "empirical" and self.samples:
            values = tuple(v * factor for v in self.samples)
            count = len(values)
            return lambda: values[int(uniform() * count)]
        mean = self.mean * factor
        if self.kind == "exp" and mean > 0:
            log = math.log
            return lambda: -mean * log(1.0 - uniform())
        return lambda: mean


@dataclass(frozen=True)
class Cpu:
    """The handler computes on its service's loop, in `turns` equal parts: it gives the loop
    up between them (an await that really waits), and waits its turn again behind whatever
    else is ready, as an asyncio task does."""

    demand: Demand
    turns: int = 1


@dataclass(frozen=True)
class Store:
    """An awaited store call: the loop is free meanwhile; Redis calls hold a pool connection."""

    kind: Literal["mongo", "redis"]
    demand: Demand
    # An in-process fake computes on the caller's loop (in `turns` parts, as Cpu); a real
    # store is awaited.
    computes: bool = False
    turns: int = 1


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
class LoadGenerator:
    """The load generator's own CPU per request (Locust's HTTP client: building, sending and
    reading it), half before the request reaches the system and half after its answer, so it
    is in the latency the generator measures. Its `processes` are loops of their own; with
    `Deployment.cores` set they compute on the same cores as the services (one machine)."""

    demand: Demand
    processes: int = 1


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
    load_generator: LoadGenerator | None = None


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


class _Now(simpy.Event):
    """An event that calls back the moment it fires, not through the schedule: a handler's
    answer reaches its caller in the same step, without an event of its own."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.callbacks = []

    def fire(self, value: Any) -> None:
        self._ok = True
        self._value = value
        callbacks = self.callbacks
        self.callbacks = None  # type: ignore[assignment]  # processed, as SimPy marks it
        for callback in callbacks:
            callback(self)


class _Task(_Now):
    """A handler run as a lean process: started at once (no initialising event), resumed by
    the events it yields, firing when it returns. SimPy processes can wait on it too."""

    def __init__(self, env: simpy.Environment, handler: Proc) -> None:
        super().__init__(env)
        self._handler = handler
        self._step(None)

    def _step(self, event: simpy.Event | None) -> None:
        value = None if event is None else event._value
        send = self._handler.send
        while True:
            try:
                target = send(value)
            except StopIteration as finished:
                self.fire(finished.value)
                return
            if target.callbacks is not None:
                target.callbacks.append(self._step)
                return
            value = target._value


class _Answer(_Now):
    """A call's answer: the handler's, or False when the deadline comes first."""

    def settle(self, handler: simpy.Event) -> None:
        if self.callbacks is not None:
            self.fire(handler._value)

    def expire(self, _: simpy.Event) -> None:
        if self.callbacks is not None:
            self.fire(False)


class _Join(_Now):
    """Branches awaited together (asyncio.gather): true when every branch succeeded."""

    def __init__(self, env: simpy.Environment, branches: list[_Task]) -> None:
        super().__init__(env)
        self._pending, self._ok_so_far = len(branches), True
        for branch in branches:
            if branch.callbacks is None:
                self._arrive(branch)
            else:
                branch.callbacks.append(self._arrive)

    def _arrive(self, branch: simpy.Event) -> None:
        self._ok_so_far = self._ok_so_far and bool(branch._value)
        self._pending -= 1
        if not self._pending:
            self.fire(self._ok_so_far)


class _Turn(simpy.Event):
    """A hold on a station for `seconds`, processed once it has been served: one SimPy event
    for a segment, where a resource takes a request, its grant and a timeout. It succeeds
    with no value, so it is made ready at once and only scheduled when its service begins."""

    _ok = True
    _value = None

    def __init__(self, station: _Station, seconds: float) -> None:
        self.env = station.env
        self.callbacks = [station.leave]
        self.seconds = seconds


class _Station:
    """`servers` taking turns first come, first served: an event loop (or a pool of loops
    sharing one queue), the Redis connection pool, the cores the loops compute on. A turn on
    a station with `cores` also waits for a core while it holds its server."""

    def __init__(self, env: simpy.Environment, servers: int, cores: _Station | None) -> None:
        self.env, self.free, self.cores = env, servers, cores
        self.waiting: deque[_Turn] = deque()
        self._schedule = env.schedule

    def hold(self, seconds: float) -> _Turn:
        turn = _Turn(self, seconds)
        if not self.free:
            self.waiting.append(turn)
        elif self.cores is None:
            self.free -= 1
            self._schedule(turn, NORMAL, seconds)
        else:
            self.free -= 1
            self.cores.admit(turn)
        return turn

    def admit(self, turn: _Turn) -> None:
        """A turn served elsewhere that also needs one of these servers (a core)."""
        if self.free:
            self.free -= 1
            self._schedule(turn, NORMAL, turn.seconds)
        else:
            self.waiting.append(turn)

    def leave(self, _: simpy.Event | None = None) -> None:
        cores = self.cores
        if cores is not None:
            cores.leave()
        if not self.waiting:
            self.free += 1
        elif cores is None:
            turn = self.waiting.popleft()
            self._schedule(turn, NORMAL, turn.seconds)
        else:
            cores.admit(self.waiting.popleft())


# A compiled handler step: (opcode, argument, argument), so the hot loop dispatches on an int.
_CPU, _WAIT, _CALL, _CHOICE, _PARALLEL = range(5)
Program = tuple[tuple[int, Any, Any], ...]


class _Service:
    def __init__(
        self, env: simpy.Environment, loops: int, pooled: bool, cores: _Station | None
    ) -> None:
        self.count = loops
        if pooled:
            self.loops = [_Station(env, loops, cores)]
        else:
            self.loops = [_Station(env, 1, cores) for _ in range(loops)]
        self._next = 0

    def pick(self) -> _Station:
        self._next = (self._next + 1) % len(self.loops)
        return self.loops[self._next]


@dataclass(frozen=True)
class _Client:
    """A compiled call: the callee's handler and the kit client's numbers for this caller."""

    service: str
    where: _Service | None
    program: Program
    optional: bool
    attempts: int
    deadline_s: float
    breaker: _Breaker


class Twin:
    """One simulated world: services, breakers per (caller, callee), the Redis pool, and each
    operation compiled once into programs whose samplers are bound to this world's seed."""

    def __init__(self, config: Config, env: simpy.Environment) -> None:
        self.config, self.env = config, env
        self.rng = random.Random(config.seed)
        self.uniform = self.rng.random
        self.res = config.resilience
        self.warmup_s = config.warmup_s
        deployment = config.deployment
        self.cores = _Station(env, deployment.cores, None) if deployment.cores else None
        shared = _Service(env, deployment.shared_instances, deployment.pooled, self.cores)
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
                self.services[name] = _Service(env, loops, deployment.pooled, self.cores)
        self.redis = _Station(env, self.res.redis_pool, None)
        generator = config.load_generator
        self.client = (
            None
            if generator is None
            else (
                _Station(env, generator.processes, self.cores),
                generator.demand.sampler(self.rng, 0.5),
            )
        )
        self.breakers: dict[tuple[str, str], _Breaker] = {}
        self.cpu_of = dict.fromkeys(self.services, 0.0)
        self.entries = {
            name: (op.service, self.services.get(op.service), self._compile(op.service, op.steps))
            for name, op in config.operations.items()
        }

    def _compile(self, service: str, steps: Sequence[Step]) -> Program:
        slower = self.config.what_if.slower.get(service, 1.0)
        program: list[tuple[int, Any, Any]] = []
        for step in steps:
            if isinstance(step, Cpu):
                program.append((_CPU, step.demand.sampler(self.rng, slower), step.turns))
            elif isinstance(step, Store):
                program += self._store(step)
            elif isinstance(step, Call):
                program.append((_CALL, self._client(service, step), None))
            elif isinstance(step, Choice):
                shares = list(accumulate(share for share, _ in step.options))
                options = tuple(self._compile(service, option) for _, option in step.options)
                program.append((_CHOICE, shares, options))
            else:
                branches = tuple(self._compile(service, branch) for branch in step.branches)
                program.append((_PARALLEL, branches, None))
        return tuple(program)

    def _store(self, step: Store) -> list[tuple[int, Any, Any]]:
        """A fake store computes on the caller's loop; a real one is awaited (Redis on a pool
        connection); a what-if's added time is awaited either way."""
        added = self.config.what_if.store_added.get(step.kind, 0.0)
        pool = self.redis if step.kind == "redis" else None
        if step.computes:
            compute = (_CPU, step.demand.sampler(self.rng), step.turns)
            return [compute, (_WAIT, pool, lambda: added)] if added > 0 else [compute]
        draw = step.demand.sampler(self.rng)
        return [(_WAIT, pool, (lambda: draw() + added) if added else draw)]

    def _client(self, caller: str, call: Call) -> _Client:
        where = self.services.get(call.service)
        return _Client(
            service=call.service,
            where=where,
            program=self._compile(call.service, call.steps) if where else (),
            optional=call.optional,
            attempts=call.attempts or self.res.attempts_for(call.service, call.idempotent),
            deadline_s=call.deadline_s or self.res.deadline_for(caller, call.service),
            breaker=self._breaker(caller, call.service),
        )

    def _breaker(self, caller: str, callee: str) -> _Breaker:
        key = (caller, callee)
        if key not in self.breakers:
            policy = self.res.breaker
            self.breakers[key] = _Breaker(self.env, policy.failure_threshold, policy.reset_timeout)
        return self.breakers[key]

    def handle(self, service: str, loop: _Station, program: Program) -> Proc:
        """A handler on `loop`: it holds the loop while it computes, not while it awaits."""
        env = self.env
        for op, first, second in program:
            if op == _CPU:
                seconds = first()
                if second == 1:
                    yield loop.hold(seconds)
                else:
                    part = seconds / second
                    for _ in range(second):
                        yield loop.hold(part)
                if env.now >= self.warmup_s:
                    self.cpu_of[service] += seconds
            elif op == _WAIT:
                seconds = second()
                if seconds > 0:
                    yield env.timeout(seconds) if first is None else first.hold(seconds)
            elif op == _CALL:
                if not (yield from self._call(first)) and not first.optional:
                    return False
            elif op == _CHOICE:
                index = bisect(first, self.uniform() * first[-1], 0, len(first) - 1)
                if not (yield from self.handle(service, loop, second[index])):
                    return False
            else:
                if not (
                    yield _Join(env, [_Task(env, self.handle(service, loop, b)) for b in first])
                ):
                    return False
        return True

    def _call(self, client: _Client) -> Proc:
        """The kit client: breaker admission, attempts within the deadline, backoff between."""
        env, retry = self.env, self.res.retry
        deadline_at = env.now + client.deadline_s
        for attempt in range(1, client.attempts + 1):
            if not client.breaker.admit():
                return False
            attempt_s = deadline_at - env.now
            if retry.attempt_timeout is not None:
                attempt_s = min(attempt_s, retry.attempt_timeout)
            ok = bool((yield self._attempt(client, attempt_s)))
            client.breaker.record(ok)
            if ok:
                return True
            ceiling = min(retry.max_backoff, retry.backoff * 2 ** (attempt - 1))
            pause = self.rng.uniform(0.0, ceiling)
            if attempt == client.attempts or env.now + pause >= deadline_at:
                return False
            yield env.timeout(pause)
        return False

    def _attempt(self, client: _Client, seconds: float) -> simpy.Event:
        """The callee's handler as a task of its own, so it goes on after its caller gave up
        at the deadline, as a server does; what the caller waits for: its answer or the
        deadline."""
        env = self.env
        if client.where is None:
            return env.timeout(0, value=False)
        handler = _Task(env, self.handle(client.service, client.where.pick(), client.program))
        if handler.callbacks is None:
            return handler
        answer = _Answer(env)
        handler.callbacks.append(answer.settle)
        env.timeout(seconds).callbacks.append(answer.expire)  # type: ignore[union-attr]
        return answer


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

    def timed(self, env: simpy.Environment, twin: Twin, name: str) -> Proc:
        started = env.now
        service, where, program = twin.entries[name]
        client = twin.client
        if client is not None:
            yield client[0].hold(client[1]())
        ok = where is not None and (yield from twin.handle(service, where.pick(), program))
        if client is not None:
            yield client[0].hold(client[1]())
        if started >= self.warmup_s:
            self.rows.append((self.index[name], started, env.now - started, ok))
        return ok


def _open_arrivals(env: simpy.Environment, twin: Twin, rec: _Recorder, w: OpenWorkload) -> Any:
    names = list(w.mix)
    # What rng.choices does per draw, its cumulative weights summed once.
    shares = list(accumulate(w.mix[n] for n in names))
    total, last = shares[-1], len(names) - 1
    rng = random.Random(twin.config.seed + 1)
    uniform, gap = rng.random, rng.expovariate
    while True:
        yield env.timeout(gap(w.rate))
        name = names[bisect(shares, uniform() * total, 0, last)] if last else names[0]
        _Task(env, rec.timed(env, twin, name))


def _user(
    env: simpy.Environment,
    twin: Twin,
    rec: _Recorder,
    w: ClosedWorkload,
    number: int,
    stop: simpy.Event,
) -> Any:
    rng = random.Random(f"{twin.config.seed}:user:{number}")
    role = rng.choices(list(w.roles), list(w.roles.values()))[0]
    for name in w.start.get(role, ()):
        yield from rec.timed(env, twin, name)
    tasks = w.tasks[role]
    plans, shares = list(tasks), list(accumulate(tasks.values()))
    while not stop.triggered:
        for name in rng.choices(plans, cum_weights=shares)[0]:
            yield from rec.timed(env, twin, name)
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
            _Task(env, _user(env, twin, rec, w, number, stop))
            running.append(stop)
            number += 1
        while len(running) > target:
            running.pop().succeed()
        yield env.timeout(w.control_every_s)


def _sampler(env: simpy.Environment, twin: Twin, samples: dict[str, list[Any]]) -> Any:
    last = dict.fromkeys(twin.services, 0.0)
    every = twin.config.sample_every_s
    while True:
        yield env.timeout(every)
        for name, service in twin.services.items():
            queued = sum(len(loop.waiting) for loop in service.loops)
            busy = twin.cpu_of[name]
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
        busy_s=dict(twin.cpu_of),
        loops={n: s.count for n, s in twin.services.items()},
        samples=samples,
        breaker_opens=sum(b.opens for b in twin.breakers.values()),
    )
