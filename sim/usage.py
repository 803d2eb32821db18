"""Where the machine's CPU goes during a load run: the served cluster's process, the Locust
process that loads it, and everything else on the machine, sampled while the run goes on.

The served cluster and Locust share this machine's cores, so Locust's own HTTP client (the
`requests` library under gevent) costs CPU outside every span the calibration reads, and
other work on a shared machine takes cores from both. These figures calibrate that part of
the twin; none is asserted on as a speed.
"""

from __future__ import annotations

import csv
import threading
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_EVERY_S = 0.5
# Seconds left out after the users are all running, so the window holds the steady level.
SETTLE_S = 3.0


@dataclass(frozen=True)
class Sample:
    """Cumulative seconds at `at`: CPU of each process, and the run-queue time of its main
    thread (runnable, waiting for a core)."""

    at: float
    served_cpu_s: float
    served_waiting_s: float
    locust_cpu_s: float
    machine_busy_s: float
    served_running_s: float = 0.0
    locust_running_s: float = 0.0
    locust_waiting_s: float = 0.0


@dataclass(frozen=True)
class Usage:
    """CPU seconds per second of wall time over a level's steady window, and its requests."""

    window_s: float
    samples: int
    requests_per_s: float
    served_cpu: float
    # The served process runnable, waiting for a core (the kernel's run-queue time).
    served_waiting: float
    locust_cpu: float
    machine_busy: float
    # Of the time each process's main thread (its event loop) was runnable, the share it ran.
    served_share: float = 1.0
    locust_share: float = 1.0

    @property
    def others_cpu(self) -> float:
        """Cores busy with neither the served cluster nor Locust (other work on the machine)."""
        return max(0.0, self.machine_busy - self.served_cpu - self.locust_cpu)

    def per_request(self, cpu: float) -> float:
        return cpu / self.requests_per_s if self.requests_per_s else 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "window_s": self.window_s,
            "samples": self.samples,
            "requests_per_s": self.requests_per_s,
            "served_cpu": self.served_cpu,
            "served_waiting": self.served_waiting,
            "locust_cpu": self.locust_cpu,
            "machine_busy": self.machine_busy,
            "others_cpu": self.others_cpu,
            "served_share": self.served_share,
            "locust_share": self.locust_share,
            "served_cpu_ms_per_request": 1000 * self.per_request(self.served_cpu),
            "locust_cpu_ms_per_request": 1000 * self.per_request(self.locust_cpu),
        }


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _scheduled_s(pid: int) -> tuple[float, float]:
    """(running, waiting for a core) of the process's main thread, from Linux's schedstat;
    nothing elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/schedstat").read_text().split()
    except OSError:
        return 0.0, 0.0
    return int(fields[0]) / 1e9, int(fields[1]) / 1e9


def _kind(process: psutil.Process) -> str | None:
    command = " ".join(process.cmdline())
    if "loadtests.serve" in command:
        return "served"
    if "locust" in command and "loadtests.run" not in command:
        return "locust"
    return None


def _children(root: psutil.Process) -> list[psutil.Process]:
    """The tree under `root`, walked by hand: psutil's recursive walk gives up on a child
    that ends meanwhile."""
    found, todo = [], [root]
    while todo:
        try:
            children = todo.pop().children()
        except psutil.Error:
            continue
        found += children
        todo += children
    return found


def sample(root: psutil.Process, clock: Callable[[], float]) -> Sample:
    cpu = {"served": 0.0, "locust": 0.0}
    running = {"served": 0.0, "locust": 0.0}
    waiting = {"served": 0.0, "locust": 0.0}
    for child in _children(root):
        try:
            kind = _kind(child)
            if kind is not None:
                cpu[kind] += _cpu_s(child)
                ran, waited = _scheduled_s(child.pid)
                running[kind] += ran
                waiting[kind] += waited
        except psutil.Error:
            continue  # a process that ended between the listing and the reading
    machine = psutil.cpu_times()
    busy = float(sum(machine)) - machine.idle - getattr(machine, "iowait", 0.0)
    return Sample(
        at=clock(),
        served_cpu_s=cpu["served"],
        served_waiting_s=waiting["served"],
        locust_cpu_s=cpu["locust"],
        machine_busy_s=busy,
        served_running_s=running["served"],
        locust_running_s=running["locust"],
        locust_waiting_s=waiting["locust"],
    )


class Watcher:
    """Samples a process tree on a thread of its own until stopped."""

    def __init__(self, pid: int, clock: Callable[[], float], every_s: float = SAMPLE_EVERY_S):
        self.samples: list[Sample] = []
        self._root = psutil.Process(pid)
        self._clock, self._every_s = clock, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set() and self._root.is_running():
            self.samples.append(sample(self._root, self._clock))
            self._stop.wait(self._every_s)


def steady_window(history: Path, users: int) -> tuple[float, float, float]:
    """(start, end, requests) of the level: from SETTLE_S after all `users` run to the end,
    read from Locust's per-second history (its cumulative request count)."""
    rows = [
        r
        for r in csv.DictReader(history.open(encoding="utf-8"))
        if r["Name"] == "Aggregated" and int(r["User Count"] or 0) >= users
    ]
    if len(rows) < 2:
        raise RuntimeError(f"{history}: the level never ran all {users} users")
    full_from = float(rows[0]["Timestamp"]) + SETTLE_S
    steady = [r for r in rows if float(r["Timestamp"]) >= full_from] or rows
    first, last = steady[0], steady[-1]
    count = float(last["Total Request Count"]) - float(first["Total Request Count"])
    return float(first["Timestamp"]), float(last["Timestamp"]), count


def _at(samples: Sequence[Sample], when: float, field: str) -> float:
    """A cumulative figure at `when`, interpolated between the samples around it."""
    times = [s.at for s in samples]
    index = min(max(bisect(times, when), 1), len(samples) - 1)
    before, after = samples[index - 1], samples[index]
    low, high = getattr(before, field), getattr(after, field)
    span = after.at - before.at
    share = min(max((when - before.at) / span, 0.0), 1.0) if span > 0 else 1.0
    return float(low + (high - low) * share)


def usage(samples: Sequence[Sample], history: Path, users: int) -> Usage:
    if len(samples) < 2:
        raise RuntimeError("the load run ended before its CPU could be sampled")
    start, end, requests = steady_window(history, users)
    seconds = end - start
    if seconds <= 0:
        raise RuntimeError(f"{history}: the steady window is empty")

    def rate(field: str) -> float:
        return (_at(samples, end, field) - _at(samples, start, field)) / seconds

    def share(kind: str) -> float:
        ran, waited = rate(f"{kind}_running_s"), rate(f"{kind}_waiting_s")
        return ran / (ran + waited) if ran > 0 else 1.0

    return Usage(
        served_share=share("served"),
        locust_share=share("locust"),
        window_s=seconds,
        samples=sum(start <= s.at <= end for s in samples),
        requests_per_s=requests / seconds,
        served_cpu=rate("served_cpu_s"),
        served_waiting=rate("served_waiting_s"),
        locust_cpu=rate("locust_cpu_s"),
        machine_busy=rate("machine_busy_s"),
    )
