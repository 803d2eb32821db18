"""Start-up work the whole system does before it is ready (seeding), as readiness sees it.

Every service of a cluster shares one `StartupWork`; while any piece is unfinished, or has
failed, each service's /health/ready answers 503 and names it, so a load balancer or a load
run waits for the data rather than meeting an empty catalog.
"""

from __future__ import annotations


class NotReady(Exception):
    """What readiness reports while start-up work is unfinished or has failed."""


class StartupWork:
    def __init__(self) -> None:
        self._unfinished: dict[str, str] = {}

    def begin(self, name: str) -> None:
        self._unfinished[name] = name

    def finish(self, name: str) -> None:
        self._unfinished.pop(name, None)

    def fail(self, name: str, reason: str) -> None:
        """The work stopped for good: readiness keeps saying so, with why."""
        self._unfinished[name] = f"{name} failed: {reason}"

    async def check(self) -> None:
        """A readiness check: raises NotReady naming what is unfinished."""
        if self._unfinished:
            raise NotReady("; ".join(self._unfinished.values()))
