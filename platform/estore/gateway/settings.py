"""Gateway service settings: which subgraphs to compose, the operation limits, the deadlines."""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from estore.gateway.limits import Limits
from estore.kit.settings import ServiceSettings

DEFAULT_SUBGRAPHS = "auth,product,order,category,coupon"


class GatewaySettings(ServiceSettings):
    """Read from GATEWAY_* variables; `gateway_subgraphs` is a comma-separated list of names."""

    service: ClassVar[str] = "gateway"

    gateway_subgraphs: str = DEFAULT_SUBGRAPHS
    # A JSON file {subgraph: sdl}: composes from it instead of asking the subgraphs.
    gateway_supergraph_file: str | None = None
    # An Apollo supergraph SDL (join spec), as @apollo/composition or rover write it: serve
    # that graph instead of ours, calling each subgraph at the URL the file gives it.
    gateway_supergraph: str | None = None
    # How often the supergraph file is reread; a change is served at once (0: never reread).
    gateway_supergraph_poll_seconds: float = 2.0
    # `name=url,...`: compose those subgraphs (each asked for its `_service { sdl }` at its
    # URL) instead of ours, as Apollo's IntrospectAndCompose does.
    gateway_subgraph_urls: str | None = None
    gateway_max_depth: int = 12
    gateway_max_cost: int = 10_000
    gateway_max_aliases: int = 30
    gateway_max_list_items: int = 500
    gateway_introspection: bool = True
    gateway_subgraph_deadline_seconds: float = 2.0
    gateway_health_timeout_seconds: float = 1.0
    # graphql-transport-ws: how long a socket may stay open without a connection_init.
    gateway_ws_init_timeout_seconds: float = 10.0
    gateway_ws_max_subscriptions: int = 50

    @field_validator("gateway_subgraph_urls")
    @classmethod
    def _name_equals_url(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_subgraph_urls(value)
        return value

    @property
    def subgraph_urls(self) -> dict[str, str]:
        return _parse_subgraph_urls(self.gateway_subgraph_urls or "")

    @property
    def serves_any_graph(self) -> bool:
        """Whether the subgraphs are a graph's own (by URL), not our services by name."""
        return bool(self.gateway_supergraph or self.gateway_subgraph_urls)

    @property
    def subgraph_names(self) -> tuple[str, ...]:
        names = (n.strip() for n in self.gateway_subgraphs.split(","))
        return tuple(dict.fromkeys(n for n in names if n))

    def supergraph_refusal(self) -> str | None:
        """Why the GATEWAY_SUPERGRAPH file would stop start-up (unreadable, refused), or None."""
        if not self.gateway_supergraph:
            return None
        from estore.gateway.compose import from_supergraph_sdl
        from estore.gateway.errors import CompositionError
        from estore.gateway.runtime import read_supergraph_sdl_file

        try:
            from_supergraph_sdl(read_supergraph_sdl_file(self.gateway_supergraph))
        except CompositionError as exc:
            return f"GATEWAY_SUPERGRAPH {self.gateway_supergraph}: {exc}"
        return None

    @property
    def limits(self) -> Limits:
        return Limits(
            max_depth=self.gateway_max_depth,
            max_cost=self.gateway_max_cost,
            max_aliases=self.gateway_max_aliases,
            max_list_items=self.gateway_max_list_items,
            introspection=self.gateway_introspection,
        )


def _parse_subgraph_urls(value: str) -> dict[str, str]:
    urls: dict[str, str] = {}
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        name, _, url = entry.partition("=")
        if not name.strip() or not url.strip().startswith(("http://", "https://")):
            raise ValueError(f"expected name=http(s)://host/path, got {entry!r}")
        urls[name.strip()] = url.strip()
    return urls
