"""The fault seam: per-dependency latency, error responses, hangs and outages for chaos runs.

`ServiceClient` applies the active faults to every attempt before the transport is called,
so retries, breakers and deadlines meet an injected fault exactly as they would a real one:
latency sleeps on the injected clock, an error fault answers with that status, a timeout
fault hangs until the caller's deadline cancels it, an outage raises `httpx.ConnectError`,
a reset lets the request reach the dependency and loses its answer on the way back
(`httpx.RemoteProtocolError`): the work was done, the caller cannot know it; and a late
delivery drops the connection at once but hands the request to the dependency some seconds
later, as the request of a caller that died arrives after it was given up for lost.
Whether a fault fires is drawn from one seeded RNG, so a run with the same seed and the same
call order injects the same faults. What was injected is counted and recorded.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal

import httpx

from estore.kit.clock import Clock

FaultKind = Literal["latency", "error", "timeout", "outage", "late", "reset"]

# Latency runs first and lets the call go on; the others end the attempt. Among those, the
# harshest wins, so an outage armed alongside an error fault looks like an outage.
_ORDER: dict[FaultKind, int] = {
    "latency": 0,
    "outage": 1,
    "timeout": 2,
    "error": 3,
    "late": 4,
    "reset": 5,
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One armed fault, firing on a `rate` share of attempts.

    `seconds`/`up_to` are for latency (`seconds` also for a late delivery's delay), `status`
    for error responses; `times` limits how often it fires before it disarms itself (None:
    until cleared).
    """

    kind: FaultKind
    rate: float = 1.0
    seconds: float = 0.0
    up_to: float | None = None
    status: int = 503
    times: int | None = None


@dataclass(frozen=True, slots=True)
class Injection:
    """A fault that fired: for whom, what, when (clock monotonic seconds) and with what value."""

    dependency: str
    kind: FaultKind
    at: float
    detail: float | int | None = None


class Faults:
    """Faults armed per dependency name; one instance is shared by a service's clients."""

    def __init__(self, *, seed: int = 0, history: int = 10_000) -> None:
        self._rng = random.Random(seed)
        self._armed: dict[str, list[Fault]] = {}
        self._left: dict[tuple[str, FaultKind], int] = {}
        self._counts: Counter[tuple[str, FaultKind]] = Counter()
        self._history: deque[Injection] = deque(maxlen=history)
        self._in_flight: set[asyncio.Task[None]] = set()

    def reseed(self, seed: int) -> None:
        """Restart the draws from `seed`: the same armings then fire on the same attempts."""
        self._rng = random.Random(seed)

    def inject_latency(
        self,
        dependency: str,
        seconds: float,
        *,
        up_to: float | None = None,
        rate: float = 1.0,
        times: int | None = None,
    ) -> None:
        """Delay calls by `seconds`, or by a uniform draw from [seconds, up_to]."""
        if seconds < 0 or (up_to is not None and up_to < seconds):
            raise ValueError("latency must be a non-negative range")
        self._arm(dependency, Fault("latency", rate, seconds=seconds, up_to=up_to, times=times))

    def inject_error(
        self, dependency: str, status: int = 503, *, rate: float = 1.0, times: int | None = None
    ) -> None:
        """Answer calls with `status` instead of reaching the dependency."""
        if not 400 <= status <= 599:
            raise ValueError("an injected error status is 4xx or 5xx")
        self._arm(dependency, Fault("error", rate, status=status, times=times))

    def inject_timeout(
        self, dependency: str, *, rate: float = 1.0, times: int | None = None
    ) -> None:
        """Hang calls until the caller's deadline gives up on them."""
        self._arm(dependency, Fault("timeout", rate, times=times))

    def inject_outage(
        self, dependency: str, *, rate: float = 1.0, times: int | None = None
    ) -> None:
        """Refuse connections, as a dependency that is down does."""
        self._arm(dependency, Fault("outage", rate, times=times))

    def inject_reset(
        self, dependency: str, *, rate: float = 1.0, times: int | None = None
    ) -> None:
        """Let calls reach the dependency, then drop the connection before the answer."""
        self._arm(dependency, Fault("reset", rate, times=times))

    def inject_late(
        self, dependency: str, seconds: float, *, rate: float = 1.0, times: int | None = None
    ) -> None:
        """Drop the connection at once; the request still reaches the dependency `seconds` later."""
        if seconds <= 0:
            raise ValueError("a late delivery is at least some time late")
        self._arm(dependency, Fault("late", rate, seconds=seconds, times=times))

    def clear(self, dependency: str | None = None) -> None:
        """Disarm every fault, or those of one dependency. Counts and history are kept."""
        for dep in list(self._armed) if dependency is None else [dependency]:
            for fault in self._armed.pop(dep, ()):
                self._left.pop((dep, fault.kind), None)

    @property
    def in_flight(self) -> int:
        """Late requests not yet delivered."""
        return len(self._in_flight)

    async def delivered(self) -> None:
        """Wait until every late request has reached its dependency (or been lost)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight)

    def armed(self, dependency: str) -> bool:
        return dependency in self._armed

    def active(self, dependency: str) -> tuple[Fault, ...]:
        return tuple(self._armed.get(dependency, ()))

    def injected(self, dependency: str | None = None, kind: FaultKind | None = None) -> int:
        """How many times faults fired, optionally for one dependency and/or kind."""
        return sum(
            n
            for (dep, k), n in self._counts.items()
            if (dependency is None or dep == dependency) and (kind is None or k == kind)
        )

    @property
    def history(self) -> tuple[Injection, ...]:
        """The most recent injections, oldest first."""
        return tuple(self._history)

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per dependency and kind, for reports."""
        out: dict[str, dict[str, int]] = {}
        for (dep, kind), n in sorted(self._counts.items()):
            out.setdefault(dep, {})[kind] = n
        return out

    async def apply(
        self,
        dependency: str,
        request: httpx.Request,
        clock: Clock,
        transport: httpx.AsyncBaseTransport,
    ) -> httpx.Response | None:
        """Play the faults armed for `dependency` on one attempt, in the caller's time.

        Returns an injected response, raises `httpx.ConnectError` for an outage, hangs for a
        timeout, raises `httpx.RemoteProtocolError` for a late delivery (after sending the
        request on through `transport` later), or returns None to let the attempt go on.
        """
        fault = await self.strike(dependency, clock)
        if fault is None:
            return None
        if fault.kind == "late":
            self._deliver_later(transport, request, clock, fault.seconds)
            raise httpx.RemoteProtocolError(
                "injected late delivery: the connection dropped; the request arrives later",
                request=request,
            )
        return await _terminal(fault, request)

    def _deliver_later(
        self,
        transport: httpx.AsyncBaseTransport,
        request: httpx.Request,
        clock: Clock,
        seconds: float,
    ) -> None:
        due = clock.monotonic() + seconds  # from now, however late the task first runs

        async def deliver() -> None:
            await clock.sleep(due - clock.monotonic())
            try:
                response = await transport.handle_async_request(request)
                await response.aread()
                await response.aclose()
            except httpx.HTTPError:
                pass  # lost after all: nobody is waiting for it either way

        # The task is kept until it ends: nothing else holds it, and a collected task never runs.
        task = asyncio.get_running_loop().create_task(deliver(), name=f"late-{request.url.path}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def strike(self, dependency: str, clock: Clock) -> Fault | None:
        """Play the faults armed for `dependency` on one call of any kind (a store command too).

        Latency sleeps and lets the call go on; the first other fault that fires is counted and
        returned, for the caller to fail the call as that dependency would. Resets are left
        to `after`, once the call has been made.
        """
        for fault in self.active(dependency):
            if fault.kind == "reset" or not self._draw(fault):
                continue
            if fault.kind == "latency":
                delay = self._latency(fault)
                self._fired(dependency, fault, clock, delay)
                await clock.sleep(delay)
                continue
            self._fired(dependency, fault, clock, fault.status if fault.kind == "error" else None)
            return fault
        return None

    def after(self, dependency: str, request: httpx.Request, clock: Clock) -> None:
        """Play a reset on an attempt the dependency has answered: the answer is lost."""
        for fault in self.active(dependency):
            if fault.kind == "reset" and self._draw(fault):
                self._fired(dependency, fault, clock, None)
                raise httpx.RemoteProtocolError(
                    "injected reset: the connection dropped after the request", request=request
                )

    def _draw(self, fault: Fault) -> bool:
        return fault.rate >= 1.0 or self._rng.random() < fault.rate

    def _arm(self, dependency: str, fault: Fault) -> None:
        if not 0.0 < fault.rate <= 1.0:
            raise ValueError("a fault rate is in (0, 1]")
        if fault.times is not None and fault.times < 1:
            raise ValueError("a fault fires at least once")
        faults = [f for f in self._armed.get(dependency, ()) if f.kind != fault.kind]
        faults.append(fault)
        self._armed[dependency] = sorted(faults, key=lambda f: _ORDER[f.kind])
        self._left.pop((dependency, fault.kind), None)
        if fault.times is not None:
            self._left[(dependency, fault.kind)] = fault.times

    def disarm(self, dependency: str, kind: FaultKind) -> None:
        """Disarm one kind of fault of one dependency, leaving its others armed."""
        self._left.pop((dependency, kind), None)
        remaining = [f for f in self._armed.get(dependency, ()) if f.kind != kind]
        if remaining:
            self._armed[dependency] = remaining
        else:
            self._armed.pop(dependency, None)

    def _latency(self, fault: Fault) -> float:
        if fault.up_to is None:
            return fault.seconds
        return self._rng.uniform(fault.seconds, fault.up_to)

    def _fired(
        self, dependency: str, fault: Fault, clock: Clock, detail: float | int | None
    ) -> None:
        key = (dependency, fault.kind)
        self._counts[key] += 1
        self._history.append(Injection(dependency, fault.kind, clock.monotonic(), detail))
        if key in self._left:
            self._left[key] -= 1
            if self._left[key] == 0:
                del self._left[key]
                self.disarm(dependency, fault.kind)


async def _terminal(fault: Fault, request: httpx.Request) -> httpx.Response:
    if fault.kind == "outage":
        raise httpx.ConnectError("injected outage: connection refused", request=request)
    if fault.kind == "timeout":
        # Never resolves: the caller's deadline cancels it, as it would a stuck peer.
        await asyncio.get_running_loop().create_future()
    return httpx.Response(
        fault.status,
        json={"error": {"code": "injected_fault", "message": f"injected {fault.status}"}},
        headers={"x-estore-fault": "error"},
        request=request,
    )
