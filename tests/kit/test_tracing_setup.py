"""Which span exporter a service gets: the wiring's, OTLP when configured, else none."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from estore.kit.bootstrap import Wiring, span_exporter_for
from estore.services.auth.settings import AuthSettings


def test_a_configured_otlp_endpoint_gets_an_otlp_exporter_on_its_traces_path() -> None:
    settings = AuthSettings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318/")
    exporter = span_exporter_for(settings, Wiring())
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://127.0.0.1:4318/v1/traces"


def test_the_wiring_exporter_wins_and_no_endpoint_means_no_exporter() -> None:
    memory = InMemorySpanExporter()
    configured = AuthSettings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318")
    assert span_exporter_for(configured, Wiring(span_exporter=memory)) is memory
    assert span_exporter_for(AuthSettings(), Wiring()) is None
