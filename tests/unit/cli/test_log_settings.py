"""`estore serve` and `estore up` log at the level and in the format the settings name."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

from estore import cli
from estore.cluster import cluster_secrets
from estore.kit.observability import LOG_FIELDS, configure_logging


def log_while_running(*_: Any, **__: Any) -> None:
    """Stands in for the server loop: a stdlib and a structlog line at each of two levels."""
    logging.getLogger("estore.kit.events.bus").warning("bus warning", extra={"stream": "orders"})
    logging.getLogger("estore.kit.clients.registry").error("breaker error")
    structlog.get_logger().info("structlog info")
    structlog.get_logger().error("structlog error")


async def log_while_serving(*_: Any, **__: Any) -> None:
    log_while_running()


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LOG_LEVEL", "LOG_JSON", "PORT", "MONGODB_URI", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    yield
    configure_logging("WARNING", json=True)


def stderr_of(args: list[str], env: dict[str, str]) -> list[str]:
    result = CliRunner().invoke(cli.main, args, env=env)
    assert result.exit_code == 0, result.output
    return [line for line in result.stderr.splitlines() if not line.startswith("estore:")]


def serve_env(**env: str) -> dict[str, str]:
    secrets = cluster_secrets()
    return {
        "INTERNAL_SIGNING_KEY": secrets["internal_signing_key"],
        "JWT_PRIVATE_KEY": secrets["jwt_private_key"],
        **env,
    }


def test_serve_writes_json_at_the_level_of_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.uvicorn, "run", log_while_running)
    lines = stderr_of(["serve", "auth", "--allow-fakes"], serve_env(LOG_LEVEL="ERROR"))
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == ["breaker error", "structlog error"]
    for record in records:
        assert set(LOG_FIELDS) <= set(record)
        assert (record["service"], record["level"]) == ("auth", "error")


def test_serve_writes_text_when_log_json_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.uvicorn, "run", log_while_running)
    lines = stderr_of(
        ["serve", "auth", "--allow-fakes"], serve_env(LOG_LEVEL="WARNING", LOG_JSON="false")
    )
    assert len(lines) == 3
    assert all(not line.startswith("{") for line in lines)
    assert "bus warning" in lines[0] and "stream=orders" in lines[0]


def test_up_follows_log_level_and_log_json_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_up", log_while_serving)
    text = stderr_of(["up"], {"LOG_LEVEL": "INFO", "LOG_JSON": "false"})
    assert len(text) == 4 and all(not line.startswith("{") for line in text)
    as_json = stderr_of(["up"], {"LOG_LEVEL": "INFO"})
    assert [json.loads(line)["event"] for line in as_json] == [
        "bus warning",
        "breaker error",
        "structlog info",
        "structlog error",
    ]
