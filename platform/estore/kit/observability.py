"""Logs, traces and metrics: JSON logs with trace ids, OpenTelemetry spans, Prometheus per app."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _add_trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Null outside any span (start-up, background loops), so every line has the same keys.
    span_context = trace.get_current_span().get_span_context()
    valid = span_context.is_valid
    event.setdefault("trace_id", format(span_context.trace_id, "032x") if valid else None)
    event.setdefault("span_id", format(span_context.span_id, "016x") if valid else None)
    return event


def _drop_null_trace_ids(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # JSON keeps the keys for a uniform shape; a person reading the console needs no `None`s.
    for key in ("trace_id", "span_id"):
        if event.get(key) is None:
            event.pop(key, None)
    return event


def _colour_terminal(file: str | None) -> bool:
    # Colour codes only help a person at a terminal; in a file or a pipe they are noise.
    return file is None and sys.stderr.isatty()


# The marker on our handler, so configuring again replaces it instead of stacking another.
_HANDLER_NAME = "estore"
# Every process-wide line carries these, whatever library emitted it.
LOG_FIELDS = ("time", "level", "service", "event", "trace_id", "span_id")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is now, so a replaced stream (tests, daemons) is used."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _default_service(name: str) -> Any:
    def add(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.setdefault("service", name)
        return event

    return add


def _shared_processors(service: str) -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        _default_service(service),
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        _add_trace_ids,
    ]


def configure_logging(
    level: str = "INFO",
    *,
    json: bool = True,
    service: str = "estore",
    file: str | None = None,
) -> None:
    """Process-wide logging: structlog and stdlib lines alike become one JSON object each.

    `service` names lines emitted outside any service's context (a deployed process serves
    one; in-process, each request and background task binds its own). Lines go to `file`
    when given (every service of a cluster into one stream), else to stderr.
    """
    level_number = logging.getLevelName(level.upper())
    if not isinstance(level_number, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    shared = _shared_processors(service)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    renderer: list[Any] = (
        [structlog.processors.JSONRenderer()]
        if json
        else [_drop_null_trace_ids, structlog.dev.ConsoleRenderer(colors=_colour_terminal(file))]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Lines from stdlib loggers: their `extra=` fields and logger name are kept.
        foreign_pre_chain=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            *renderer,
        ],
    )
    handler: logging.Handler = (
        logging.FileHandler(file, encoding="utf-8") if file else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_number)
    # httpx logs every request it sends at INFO: in a service that is one line per peer call.
    logging.getLogger("httpx").setLevel(max(level_number, logging.WARNING))


def tracer_provider(
    service: str, exporter: SpanExporter | None = None, *, batch: bool = True
) -> TracerProvider:
    """A provider per service, so spans carry the right `service.name` in one process."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        provider.add_span_processor(processor)
    return provider


def otlp_exporter(endpoint: str) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


SPAN_EVENT = "span"
_span_log = logging.getLogger("estore.spans")


class SpanLogExporter(SpanExporter):
    """Writes each finished span as one log line, so one stream holds a request's whole story.

    The embedded modes have no trace backend; `estore trace` rebuilds the tree from these.
    """

    def __init__(self) -> None:
        # Spans are wanted whatever the level of the other lines.
        _span_log.setLevel(logging.INFO)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            _span_log.info(SPAN_EVENT, extra=span_fields(span))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def span_fields(span: ReadableSpan) -> dict[str, Any]:
    context = span.context
    parent = span.parent
    start, end = span.start_time or 0, span.end_time or 0
    return {
        "service": span.resource.attributes.get("service.name", "unknown"),
        "span_name": span.name,
        "trace_id": format(context.trace_id, "032x") if context else None,
        "span_id": format(context.span_id, "016x") if context else None,
        "parent_id": format(parent.span_id, "016x") if parent else None,
        "start_ns": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "error": span.status.status_code is StatusCode.ERROR,
    }


def trace_headers() -> dict[str, str]:
    """W3C traceparent for an outgoing call, from the current span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@dataclass
class Telemetry:
    """One service's metrics registry, tracer and logger."""

    service: str
    provider: TracerProvider
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.tracer = self.provider.get_tracer(f"estore.{self.service}")
        # Lazy: logging may be configured after the services are built.
        self.log = structlog.get_logger(service=self.service)
        self.requests = Counter(
            "estore_http_requests_total",
            "HTTP requests served, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "estore_http_request_seconds",
            "HTTP request latency, by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )


class RouteTemplates:
    """Full path templates of an app's routes, for metric labels and span names.

    Recent FastAPI keeps included routers unflattened, so a matched route only knows its path
    relative to its router's prefix; the app factory records the prefix as it includes it.
    """

    def __init__(self) -> None:
        self._by_route: dict[int, str] = {}

    def add(self, prefix: str, routes: Any) -> None:
        for route in routes:
            path = getattr(route, "path", None)
            if path is not None:
                self._by_route[id(route)] = prefix + path

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            # Unmatched paths fold into one label so scanners cannot blow up cardinality.
            return "<unmatched>"
        template = self._by_route.get(id(route)) or getattr(route, "path", None)
        return str(template or "<unknown>")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class TelemetryMiddleware:
    """Pure ASGI middleware: server span from `traceparent`, log context, request metrics."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry, routes: RouteTemplates) -> None:
        self.app = app
        self.telemetry = telemetry
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {"traceparent": _header(scope, b"traceparent") or ""}
        token = otel_context.attach(propagate.extract(carrier))
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"]
        span_name = f"{method} {scope['path']}"
        try:
            # In-process calls run in the caller's task: bind and restore, never just bind.
            with (
                structlog.contextvars.bound_contextvars(service=self.telemetry.service),
                self.telemetry.tracer.start_as_current_span(
                    span_name, kind=SpanKind.SERVER
                ) as span,
            ):
                try:
                    await self.app(scope, receive, send_with_status)
                finally:
                    route = self.routes.of(scope)
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                    self.telemetry.requests.labels(method, route, str(status)).inc()
                    self.telemetry.latency.labels(method, route).observe(
                        time.perf_counter() - started
                    )
        finally:
            otel_context.detach(token)
