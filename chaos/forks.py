"""Play many schedules on forks of one started stage: a campaign builds its cluster once.

Building and starting a cluster (apps, routes, schemas, indexes) is most of what a short
schedule costs, and it is the same for every schedule. `Forks` builds one `Stage` and plays each
schedule in a forked child, which starts from the stage's memory exactly as it was; the child
sends its result back through a pipe and exits. Up to `jobs` children run at once, results
come back in schedule order. Where `os.fork` does not exist, each schedule gets its own stage.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chaos.run import Mutant, RunResult, Stage, run
from chaos.schedule import Schedule


class ChildFailed(RuntimeError):
    """A forked run could not finish (the message says why)."""


@dataclass
class _Child:
    pid: int
    reader: int


class Forks:
    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self._stage: Stage | None = None

    def play(self, schedule: Schedule, mutant: Mutant | None = None) -> RunResult:
        return next(self.play_all([(schedule, mutant)]))

    def play_all(self, runs: Iterable[tuple[Schedule, Mutant | None]]) -> Iterator[RunResult]:
        """The result of every (schedule, mutant), in order."""
        if not hasattr(os, "fork"):
            for schedule, mutant in runs:
                yield run(schedule, mutant)
            return
        waiting: list[_Child] = []
        for schedule, mutant in runs:
            waiting.append(self._fork(schedule, mutant))
            if len(waiting) >= self.jobs:
                yield _collect(waiting.pop(0))
        while waiting:
            yield _collect(waiting.pop(0))

    def close(self) -> None:
        if self._stage is not None:
            self._stage.close()
            self._stage = None

    def _fork(self, schedule: Schedule, mutant: Mutant | None) -> _Child:
        if self._stage is None:
            self._stage = Stage()
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: play, report, leave without running the parent's clean-up
            os.close(reader)
            try:
                payload = pickle.dumps(("ok", self._stage.play(schedule, mutant)))
            except BaseException as exc:
                payload = pickle.dumps(("failed", f"seed {schedule.seed}: {exc!r}"))
            with os.fdopen(writer, "wb") as out:
                out.write(payload)
            os._exit(0)
        os.close(writer)
        return _Child(pid, reader)


def _collect(child: _Child) -> RunResult:
    with os.fdopen(child.reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(child.pid, 0)
    if not data:
        raise ChildFailed(f"a forked run died without a result (wait status {status})")
    outcome, value = pickle.loads(data)
    if outcome != "ok":
        raise ChildFailed(value)
    result: RunResult = value
    return result
