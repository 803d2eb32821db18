"""One service of the cluster as a single ASGI app whose lifespan starts the whole cluster.

Schemathesis calls an ASGI app in-process on its own event loop thread and runs the app's
lifespan there once; the cluster's fake stores then live on that loop, as they must.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.harness.served import FAST_HASHING, registered
from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Caller, Role


class ClusterApp:
    """ASGI: lifespan starts/stops `cluster`; HTTP and WebSocket go to the named service."""

    def __init__(self, service: str, peers: Iterable[str] | None = None) -> None:
        names = [service, *registered(p for p in (peers or SERVICES) if p != service)]
        self.service = service
        self.cluster = Cluster(Wiring(), services=names, overrides=FAST_HASHING)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.cluster.apps[self.service](scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.cluster.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.cluster.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def caller_header(self, roles: Iterable[Role] = (Role.ADMIN,)) -> dict[str, str]:
        """A forwarded-caller header the service accepts, so fuzzing reaches past 401."""
        caller = Caller(user_id="fuzz-admin", email="fuzz@example.com", roles=frozenset(roles))
        signed = self.cluster.infras[self.service].internal_identity.sign(caller)
        return {"X-Estore-Caller": signed}
