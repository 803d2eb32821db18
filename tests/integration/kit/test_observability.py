"""Traces, logs and metrics across an in-process service hop."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.observability import configure_logging

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
async def traced(fast_hashing: dict[str, int]) -> Cluster:
    spans = InMemorySpanExporter()
    cluster = Cluster(
        Wiring(span_exporter=spans, batch_spans=False), services=["auth"], overrides=fast_hashing
    )
    cluster.spans = spans  # type: ignore[attr-defined]
    await cluster.start()
    yield cluster  # type: ignore[misc]
    await cluster.stop()


async def register(client: httpx.AsyncClient) -> str:
    form = {"email": "trace@example.com", "password": "long enough 1", "name": "T"}
    response = await client.post("/api/v1/auth/register", json=form)
    token: str = response.json()["access_token"]
    return token


async def test_traceparent_is_carried_into_the_called_service(traced: Cluster) -> None:
    spans: InMemorySpanExporter = traced.spans  # type: ignore[attr-defined]
    async with traced.client("auth") as client:
        token = await register(client)
        spans.clear()
        trace_id = "0af7651916cd43dd8448eb211c80319c"
        headers = {
            "Authorization": f"Bearer {token}",
            "traceparent": f"00-{trace_id}-b7ad6b7169203331-01",
        }
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    finished = {span.name: span for span in spans.get_finished_spans()}
    me = finished["GET /api/v1/auth/me"]
    # Verifying the bearer token made auth fetch its own JWKS through a service client.
    jwks = finished["GET /.well-known/jwks.json"]
    assert format(me.context.trace_id, "032x") == trace_id
    assert jwks.context.trace_id == me.context.trace_id
    assert jwks.parent is not None and jwks.parent.span_id == me.context.span_id
    assert me.resource.attributes["service.name"] == "auth"


async def log_a_failed_login(cluster: Cluster) -> None:
    async with cluster.client("auth") as client:
        headers = {"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"}
        cluster.infras["auth"].telemetry.log.info("probe")  # outside a request: no trace ids
        await client.post(
            "/api/v1/auth/login",
            json={"email": "nobody@example.com", "password": "wrong"},
            headers=headers,
        )


async def test_logs_are_json_with_service_and_trace_ids(
    traced: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    try:
        await log_a_failed_login(traced)
    finally:
        configure_logging("WARNING", json=True)
    err = capsys.readouterr().err

    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    probe = next(line for line in lines if line["event"] == "probe")
    assert probe["service"] == "auth"
    assert (probe["trace_id"], probe["span_id"]) == (None, None)
    failed = next(line for line in lines if line["event"] == "auth.login_failed")
    assert failed["service"] == "auth"
    assert failed["trace_id"] == "1" * 32
    assert len(failed["span_id"]) == 16


async def test_breaker_state_and_dependency_calls_are_in_metrics(traced: Cluster) -> None:
    async with traced.client("auth") as client:
        metrics = (await client.get("/metrics")).text
    assert 'estore_circuit_breaker_state{dependency="auth"} 0.0' in metrics
    assert "estore_http_request_seconds_bucket" in metrics


async def test_an_events_handling_is_a_consumer_span_of_the_publishers_trace(
    fast_hashing: dict[str, int],
) -> None:
    spans = InMemorySpanExporter()
    cluster = Cluster(
        Wiring(span_exporter=spans, batch_spans=False),
        services=["auth", "coupon"],
        overrides=fast_hashing,
    )
    await cluster.start()
    trace_id = "1f" * 16
    try:
        async with cluster.client("auth") as client:
            form = {"email": "consumed@example.com", "password": "long enough 1", "name": "C"}
            headers = {"traceparent": f"00-{trace_id}-{'2e' * 8}-01"}
            assert (
                await client.post("/api/v1/auth/register", json=form, headers=headers)
            ).status_code == 201
        consumed = await _first_span(spans, "consume user:registered")
    finally:
        await cluster.stop()
    assert consumed.kind is SpanKind.CONSUMER
    assert consumed.resource.attributes["service.name"] == "coupon"
    assert format(consumed.context.trace_id, "032x") == trace_id
    assert consumed.attributes is not None
    assert consumed.attributes["messaging.consumer.group.name"] == "coupon"


async def _first_span(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    # The event is relayed and consumed in the background: wait for it, not for a time.
    for _ in range(500):
        found = [span for span in spans.get_finished_spans() if span.name == name]
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no span {name!r} among {[s.name for s in spans.get_finished_spans()]}")
