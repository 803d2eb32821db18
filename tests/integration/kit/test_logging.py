"""One log stream: stdlib and structlog lines as JSON, spans beside them, read back by trace."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

from estore.cli import main
from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.observability import LOG_FIELDS, SpanLogExporter, configure_logging
from tests.integration.gateway.service_helpers import graphql

pytestmark = pytest.mark.asyncio(loop_scope="module")

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
LOGIN = 'mutation { login(email: "nobody@example.com", password: "wrong pass") { accessToken } }'


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("logs") / "estore.log"
    configure_logging("INFO", json=True, file=str(path))
    try:
        yield path
    finally:
        configure_logging("WARNING", json=True)


@asynccontextmanager
async def gateway_over_auth() -> AsyncIterator[Cluster]:
    cluster = Cluster(
        Wiring(span_exporter=SpanLogExporter(), batch_spans=False),
        services=["auth", "gateway"],
        overrides={"argon2_time_cost": 1, "argon2_memory_kib": 1024, "gateway_subgraphs": "auth"},
    )
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


@pytest.fixture(scope="module")
async def cluster(log_file: Path) -> AsyncIterator[Cluster]:
    async with gateway_over_auth() as cluster:
        yield cluster


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_breaker_opening_is_one_json_line_with_the_services_fields(
    log_file: Path,
) -> None:
    async with gateway_over_auth() as cluster, cluster.client("gateway") as gateway:
        cluster.wiring.faults.inject_outage("auth")
        for _ in range(8):
            await graphql(gateway, LOGIN, headers={"traceparent": TRACEPARENT})
    opened = [r for r in records(log_file) if r["event"] == "circuit auth: closed -> open"]
    assert opened, "the breaker's transition was not logged as JSON"
    line = opened[0]
    assert set(LOG_FIELDS) <= set(line)
    assert (line["level"], line["service"]) == ("warning", "gateway")
    assert line["logger"] == "estore.kit.clients.registry"
    # The request that tripped it: the trace it came in with, the gateway's own span.
    assert line["trace_id"] == TRACE_ID
    assert len(line["span_id"]) == 16 and line["span_id"] != TRACEPARENT.split("-")[2]


async def test_the_gateways_composed_line_is_kept_at_info_with_every_field(
    cluster: Cluster, log_file: Path
) -> None:
    composed = [r for r in records(log_file) if r["event"] == "gateway composed from auth"]
    assert composed, "the gateway's INFO line was lost"
    line = composed[0]
    assert set(LOG_FIELDS) <= set(line)
    assert (line["level"], line["service"]) == ("info", "gateway")
    # Composed at start-up, outside any request: the ids are there, and null.
    assert (line["trace_id"], line["span_id"]) == (None, None)


async def test_a_stdlib_warning_keeps_its_extra_fields(log_file: Path) -> None:
    logging.getLogger("estore.kit.events.bus").warning(
        "outbox relay failed; events wait in the outbox", extra={"error": "redis away", "n": 3}
    )
    line = records(log_file)[-1]
    assert line["event"] == "outbox relay failed; events wait in the outbox"
    assert (line["error"], line["n"], line["level"]) == ("redis away", 3, "warning")
    assert "time" in line and line["service"] == "estore"


async def test_the_level_setting_drops_lower_lines_from_stdlib_and_structlog(
    tmp_path: Path, log_file: Path
) -> None:
    path = tmp_path / "quiet.log"
    configure_logging("ERROR", json=True, file=str(path))
    try:
        logging.getLogger("estore.gateway.runtime").warning("dropped")
        structlog.get_logger().warning("dropped too")
        logging.getLogger("estore.gateway.runtime").error("kept")
    finally:
        configure_logging("INFO", json=True, file=str(log_file))
    assert [r["event"] for r in records(path)] == ["kept"]


async def test_the_console_format_is_readable_text_not_json(tmp_path: Path, log_file: Path) -> None:
    path = tmp_path / "console.log"
    configure_logging("INFO", json=False, file=str(path))
    try:
        logging.getLogger("estore.kit.events.bus").warning("relay failed", extra={"n": 3})
    finally:
        configure_logging("INFO", json=True, file=str(log_file))
    [line] = path.read_text().splitlines()
    with pytest.raises(ValueError):
        json.loads(line)
    assert "relay failed" in line and "n=3" in line
    assert "trace_id" not in line  # no span, so nothing to show


async def test_an_unknown_level_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging("LOUD")


async def test_one_requests_lines_and_spans_are_read_back_across_services(
    cluster: Cluster, log_file: Path
) -> None:
    async with cluster.client("gateway") as gateway:
        await graphql(gateway, LOGIN, headers={"traceparent": TRACEPARENT})
    runner = CliRunner()

    logs = runner.invoke(main, ["logs", str(log_file), "--trace", TRACE_ID])
    assert logs.exit_code == 0, logs.output
    lines = logs.stdout.splitlines()
    assert any(" auth " in line and "auth.login_failed" in line for line in lines)
    assert all(TRACE_ID not in line for line in lines)  # the column set hides the id itself

    tree = runner.invoke(main, ["trace", TRACE_ID, str(log_file)])
    assert tree.exit_code == 0, tree.output
    spans = tree.stdout.splitlines()
    assert spans[0].startswith("POST /graphql [gateway]")
    # The gateway's call to auth hangs under the gateway's own span, indented.
    assert any(line.startswith("  ") and "[auth]" in line for line in spans[1:])


async def test_a_trace_with_no_lines_says_so_and_fails(log_file: Path) -> None:
    result = CliRunner().invoke(main, ["trace", "0" * 32, str(log_file)])
    assert result.exit_code == 1
    assert f"0 spans of trace {'0' * 32}" in result.stderr
