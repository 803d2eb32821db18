"""Wires a service's infrastructure from settings: stores, clients, identity, bus, telemetry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from opentelemetry.sdk.trace.export import SpanExporter

from estore.kit.clients import ClientRegistry
from estore.kit.clock import Clock, SystemClock
from estore.kit.events import EventBus
from estore.kit.faults import Faults
from estore.kit.identity import (
    Authenticator,
    InternalIdentity,
    JwksVerifier,
    Revocations,
    caller_headers,
)
from estore.kit.infra import Infra, S
from estore.kit.observability import Telemetry, otlp_exporter, trace_headers, tracer_provider
from estore.kit.settings import ServiceSettings
from estore.kit.startup import StartupWork
from estore.kit.stores import Stores

TransportFor = Callable[[str], httpx.AsyncBaseTransport]
JWKS_PATH = "/.well-known/jwks.json"


def http_transport(_: str) -> httpx.AsyncBaseTransport:
    """Over real sockets: served and deployed modes."""
    return httpx.AsyncHTTPTransport()


@dataclass
class Wiring:
    """What is shared by every service assembled in one place (one process)."""

    stores: Stores = field(default_factory=Stores)
    clock: Clock = field(default_factory=SystemClock)
    transport_for: TransportFor = http_transport
    faults: Faults = field(default_factory=Faults)
    startup: StartupWork = field(default_factory=StartupWork)
    span_exporter: SpanExporter | None = None
    # Tests read spans at once, so they export each span as it ends instead of in batches.
    batch_spans: bool = True


def span_exporter_for(settings: ServiceSettings, wiring: Wiring) -> SpanExporter | None:
    if wiring.span_exporter is not None:
        return wiring.span_exporter
    if settings.otel_exporter_otlp_endpoint:
        return otlp_exporter(settings.otel_exporter_otlp_endpoint)
    return None


def build_infra(
    settings: S,
    dependencies: tuple[str, ...],
    wiring: Wiring,
    external: tuple[str, ...] = (),
) -> Infra[S]:
    """Everything `create_app` needs; `dependencies` are the services it calls (auth always),
    `external` those of them outside our network, which never see our signed caller."""
    settings.require_secrets("internal_signing_key")
    assert settings.internal_signing_key is not None
    clock = wiring.clock
    provider = tracer_provider(
        settings.service, span_exporter_for(settings, wiring), batch=wiring.batch_spans
    )
    telemetry = Telemetry(settings.service, provider)
    db = wiring.stores.database(settings.mongodb_uri, settings.database)
    redis = wiring.stores.redis(settings.redis_url)
    clients = ClientRegistry(
        {
            name: (settings.service_url(name), wiring.transport_for(name))
            for name in sorted({"auth", *dependencies})
        },
        clock=clock,
        faults=wiring.faults,
        registry=telemetry.registry,
        header_providers=[caller_headers, trace_headers],
        external=external,
        external_header_providers=[trace_headers],
        deadline=settings.request_deadline_seconds,
    )
    internal = InternalIdentity(
        settings.internal_signing_key.get_secret_value().encode(),
        clock,
        settings.internal_identity_max_age_seconds,
    )

    async def fetch_jwks() -> dict[str, object]:
        response = await clients["auth"].get(JWKS_PATH)
        if response.status_code != 200:
            raise RuntimeError(f"auth answered {response.status_code} for {JWKS_PATH}")
        jwks: dict[str, object] = response.json()
        return jwks

    verifier = JwksVerifier(
        fetch_jwks,
        settings.jwt_issuer,
        settings.jwt_audience,
        clock,
        revocations=Revocations(redis, clock),
    )
    return Infra(
        settings=settings,
        db=db,
        redis=redis,
        clock=clock,
        telemetry=telemetry,
        clients=clients,
        internal_identity=internal,
        authenticator=Authenticator(internal, verifier),
        bus=EventBus(
            settings.service,
            redis,
            db,
            clock,
            broadcaster=wiring.stores.broadcaster(settings.redis_url),
            tracer=telemetry.tracer,
        ),
        startup=wiring.startup,
    )
