"""The gateway's composed state: load subgraph SDLs, compose, and hold the running Gateway.

Composition happens at start-up and on demand. A composition error is fatal at start-up (the
subgraphs disagree; serving a guess would be worse). Unreachable subgraphs are not: the gateway
starts unready and composes at the next request or readiness probe, which is also what lets a
served cluster start the gateway's lifespan before its peers listen.

With `GATEWAY_SUPERGRAPH` the gateway serves an Apollo supergraph file instead of our graph,
calling its subgraphs at the URLs it names; one using what we do not serve stops start-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from estore.gateway.compose import compose, from_supergraph_sdl
from estore.gateway.errors import CompositionError
from estore.gateway.fetcher import ClientFetcher, fetch_sdls
from estore.gateway.gateway import Gateway
from estore.gateway.settings import GatewaySettings
from estore.gateway.subscriptions import with_subscriptions
from estore.kit.clients import ServiceClient
from estore.kit.clock import Clock

log = logging.getLogger(__name__)


class SubgraphsUnavailable(Exception):
    """The subgraph SDLs could not be obtained, so there is nothing to compose yet."""


def build_gateway(
    sdls: Mapping[str, str], fetcher: ClientFetcher, settings: GatewaySettings
) -> Gateway:
    supergraph = compose(sdls)
    supergraph.api_schema = with_subscriptions(supergraph.api_schema)
    return Gateway(supergraph, fetcher, settings.limits)


def read_supergraph_file(path: str) -> dict[str, str]:
    """A JSON file {subgraph: sdl}; anything else is refused with what is wrong."""
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CompositionError(f"cannot read supergraph file {path}: {exc}") from exc
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise CompositionError(f"supergraph file {path} must be a JSON object {{name: sdl}}")
    return loaded


def read_supergraph_sdl_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CompositionError(f"cannot read supergraph {path}: {exc}") from exc


# Builds the clients of a supergraph's subgraphs from {name: url}.
GraphClients = Callable[[Mapping[str, str]], Mapping[str, ServiceClient]]


class GatewayRuntime:
    """Holds the current Gateway; `current()` composes first when nothing is composed yet."""

    def __init__(
        self,
        settings: GatewaySettings,
        clients: Mapping[str, ServiceClient],
        graph_clients: GraphClients | None = None,
    ) -> None:
        unknown = [n for n in settings.subgraph_names if n not in clients]
        if unknown and not settings.serves_any_graph:
            raise ValueError(
                f"GATEWAY_SUBGRAPHS names {unknown}, which the gateway has no client for; "
                f"known: {sorted(clients)}"
            )
        self.settings = settings
        self.clients = clients
        self.fetcher = ClientFetcher(clients, settings.gateway_subgraph_deadline_seconds)
        self.gateway: Gateway | None = None
        self.sdls: dict[str, str] = {}
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self._graph_clients = graph_clients
        self._supergraph_text: str | None = None
        self._served_urls: dict[str, str] = {}
        self._watcher: asyncio.Task[None] | None = None

    @property
    def subgraphs(self) -> tuple[str, ...]:
        if self.gateway is not None:
            return tuple(self.gateway.supergraph.subgraphs)
        return self.settings.subgraph_names

    def client(self, name: str) -> ServiceClient:
        """The client the gateway calls subgraph `name` with."""
        return self.fetcher.client(name)

    async def start(self) -> None:
        """Start-up hook: compose; a composition error stops start-up, an outage does not."""
        try:
            await self.compose()
        except SubgraphsUnavailable as exc:
            # Normal when subgraphs start after the gateway (served mode, orchestrators):
            # /health/ready says unready, and the first request or probe composes.
            log.info("gateway not composed yet, will compose on first use: %s", exc)

    async def start_watching(self, clock: Clock) -> None:
        """Start-up hook: serve the supergraph file anew whenever it changes."""
        interval = self.settings.gateway_supergraph_poll_seconds
        if self.settings.gateway_supergraph and interval > 0:
            self._watcher = asyncio.create_task(self._watch(clock, interval))

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None

    async def _watch(self, clock: Clock, interval: float) -> None:
        refused: str | None = None
        while True:
            await clock.sleep(interval)
            try:
                await self.compose()  # rereads the file; the same text changes nothing
            except CompositionError as exc:
                if str(exc) != refused:  # said once per bad version, not every poll
                    log.error("supergraph change refused, serving the previous one: %s", exc)
                refused = str(exc)
            else:
                refused = None

    async def current(self) -> Gateway:
        gateway = self.gateway
        if gateway is not None:
            return gateway
        return await self.compose(only_if_missing=True)

    async def compose(self, *, only_if_missing: bool = False) -> Gateway:
        """(Re)compose from the subgraphs or the supergraph file; keep the old one on failure."""
        async with self._lock:
            if only_if_missing and self.gateway is not None:
                return self.gateway
            if self.settings.gateway_supergraph:
                return await self._serve_supergraph(self.settings.gateway_supergraph)
            if self.settings.gateway_subgraph_urls:
                return await self._compose_from_urls(self.settings.subgraph_urls)
            sdls = await self._load_sdls()
            if self.gateway is not None and sdls == self.sdls:
                return self.gateway
            try:
                gateway = build_gateway(sdls, self.fetcher, self.settings)
            except CompositionError as exc:
                self.last_error = str(exc)
                raise
            self.gateway, self.sdls, self.last_error = gateway, sdls, None
            log.info("gateway composed from %s", ", ".join(sdls))
            return gateway

    async def _compose_from_urls(self, urls: Mapping[str, str]) -> Gateway:
        fetcher = self._use_urls(urls)
        deadline = self.settings.gateway_subgraph_deadline_seconds
        try:
            sdls = await fetch_sdls(fetcher.clients, tuple(urls), deadline, path="")
        except Exception as exc:
            self.last_error = f"subgraph SDLs unavailable: {exc}"
            raise SubgraphsUnavailable(self.last_error) from exc
        if self.gateway is not None and sdls == self.sdls:
            return self.gateway
        try:
            supergraph = compose(sdls)
        except CompositionError as exc:
            self.last_error = str(exc)
            raise
        supergraph.urls = dict(urls)
        gateway = Gateway(supergraph, fetcher, self.settings.limits)
        self.gateway, self.sdls, self.last_error = gateway, sdls, None
        log.info("gateway composed from %s", ", ".join(f"{n}={u}" for n, u in urls.items()))
        return gateway

    def _use_urls(self, urls: Mapping[str, str]) -> ClientFetcher:
        """The fetcher over clients for these subgraph URLs (rebuilt only when they change)."""
        if dict(urls) != self._served_urls:
            if self._graph_clients is None:
                raise CompositionError("this gateway was built without clients for a graph's URLs")
            clients = self._graph_clients(urls)
            deadline = self.settings.gateway_subgraph_deadline_seconds
            self.fetcher = ClientFetcher(clients, deadline, path="")
            self._served_urls = dict(urls)
        return self.fetcher

    async def _serve_supergraph(self, path: str) -> Gateway:
        text = read_supergraph_sdl_file(path)
        if self.gateway is not None and text == self._supergraph_text:
            return self.gateway
        try:
            supergraph = from_supergraph_sdl(text)
        except CompositionError as exc:
            self.last_error = str(exc)
            raise
        gateway = Gateway(supergraph, self._use_urls(supergraph.urls), self.settings.limits)
        self.gateway, self._supergraph_text, self.last_error = gateway, text, None
        log.info("gateway serves supergraph %s: %s", path, ", ".join(supergraph.urls))
        return gateway

    async def _load_sdls(self) -> dict[str, str]:
        path = self.settings.gateway_supergraph_file
        if path:
            return read_supergraph_file(path)
        try:
            return await fetch_sdls(
                self.clients,
                self.settings.subgraph_names,
                self.settings.gateway_subgraph_deadline_seconds,
            )
        except Exception as exc:
            self.last_error = f"subgraph SDLs unavailable: {exc}"
            raise SubgraphsUnavailable(self.last_error) from exc
