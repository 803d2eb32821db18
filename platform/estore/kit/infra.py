"""What a service's create_app receives: its settings and everything it talks to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis

from estore.kit.clients import ClientRegistry
from estore.kit.clock import Clock
from estore.kit.events import EventBus
from estore.kit.identity import Authenticator, InternalIdentity
from estore.kit.observability import Telemetry
from estore.kit.settings import ServiceSettings
from estore.kit.startup import StartupWork

S = TypeVar("S", bound=ServiceSettings)


@dataclass
class Infra(Generic[S]):
    """`S` is the service's own settings class, so its create_app reads them fully typed."""

    settings: S
    db: Any
    redis: aioredis.Redis
    clock: Clock
    telemetry: Telemetry
    clients: ClientRegistry
    internal_identity: InternalIdentity
    authenticator: Authenticator
    bus: EventBus
    startup: StartupWork = field(default_factory=StartupWork)

    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[Any]]]:
        async def mongo() -> None:
            await self.db.command("ping")

        async def redis() -> None:
            await self.redis.ping()

        return {"mongo": mongo, "redis": redis, "startup": self.startup.check}
