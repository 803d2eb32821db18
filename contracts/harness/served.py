"""A provider's real app on a loopback port, in its own thread and event loop, for Pact.

Pact's verifier and its provider-state callbacks run on other threads; everything that
touches the app's stores goes through `run()`, which hands the coroutine to the server's
loop, because the fake stores belong to the loop that created them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from estore.cluster import SERVICES, Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.identity import Caller, Role
from estore.kit.testing import FAST_HASHING, free_ports

T = TypeVar("T")

_START_TIMEOUT_SECONDS = 15.0
_CALL_TIMEOUT_SECONDS = 15.0


def registered(names: Iterable[str]) -> list[str]:
    """The named services that exist in the cluster registry today."""
    return [name for name in names if name in SERVICES]


class ServedProvider:
    """One provider (plus the registered services it calls) served over loopback.

    `app_wrapper` lets a test serve a deliberately altered provider (the meta-test).
    `loopback` serves every member on its own port, calling each other over HTTP, as the
    served cluster does (the gateway's subgraph calls then cross real sockets).
    """

    def __init__(
        self,
        provider: str,
        *,
        peers: Iterable[str] = (),
        app_wrapper: Any = None,
        loopback: bool = False,
    ) -> None:
        if loopback and app_wrapper is not None:
            raise ValueError("a loopback cluster serves its apps unwrapped")
        self.provider = provider
        self.names = [provider, *registered(p for p in peers if p != provider)]
        self._wrap = app_wrapper
        self._loopback = loopback
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"pact-{provider}", daemon=True)
        self.cluster: Cluster | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedProvider:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_SECONDS) or self._error is not None:
            raise RuntimeError(f"{self.provider} did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(_START_TIMEOUT_SECONDS)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop from any other thread and return its result."""
        assert self._loop is not None, "the provider is not running"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(_CALL_TIMEOUT_SECONDS)

    def app(self, name: str | None = None) -> FastAPI:
        assert self.cluster is not None
        return self.cluster.apps[name or self.provider]

    def service(self, name: str | None = None) -> Any:
        """The use cases of a served service, as its routes see them."""
        return self.app(name).state.service

    def sign(self, user_id: str, roles: Iterable[Role] = (Role.CUSTOMER,)) -> str:
        """An `X-Estore-Caller` value the provider accepts for this user."""
        assert self.cluster is not None
        caller = Caller(user_id=user_id, email=f"{user_id}@example.com", roles=frozenset(roles))
        return self.cluster.infras[self.provider].internal_identity.sign(caller)

    async def reset(self) -> None:
        """Empty the stores and re-run start-up: each interaction starts from nothing."""
        assert self.cluster is not None
        await self.cluster.reset()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the thread that waits in __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        if self._loopback:
            await self._serve_cluster()
            return
        self.cluster = Cluster(Wiring(), services=self.names, overrides=FAST_HASHING)
        await self.cluster.start()
        app: Any = self.cluster.apps[self.provider]
        if self._wrap is not None:
            app = self._wrap(app)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped during start-up")
                await asyncio.sleep(0.01)
            self.port = server.servers[0].sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopped.wait()
        finally:
            server.should_exit = True
            await asyncio.gather(task, return_exceptions=True)
            await self.cluster.stop()

    async def _serve_cluster(self) -> None:
        assert self._stopped is not None
        ports = dict(zip(self.names, free_ports(len(self.names)), strict=True))
        self.cluster = Cluster(
            Wiring(), services=self.names, served=True, ports=ports, overrides=FAST_HASHING
        )
        ready = asyncio.Event()
        task = asyncio.create_task(self.cluster.serve("127.0.0.1", ready))
        try:
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if task.done():
                task.result()
                raise RuntimeError("the served cluster stopped during start-up")
            self.port = ports[self.provider]
            self._ready.set()
            await self._stopped.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
