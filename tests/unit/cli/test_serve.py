"""`estore serve NAME`: a bad or missing setting is one line naming every problem, never a
traceback; the deployed mode refuses in-memory stores unless asked; it says where it serves."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from estore import cli
from estore.cluster import cluster_secrets

GOOD_KEY = "k" * 32
ENV_NAMES = (
    "INTERNAL_SIGNING_KEY",
    "JWT_PRIVATE_KEY",
    "MONGODB_URI",
    "REDIS_URL",
    "PORT",
    "GATEWAY_SUPERGRAPH",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What uvicorn would have been asked to serve (the test serves nothing)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    return calls


def serve(*args: str, **env: str) -> Any:
    return CliRunner().invoke(cli.main, ["serve", *args], env=env)


def test_a_short_signing_key_is_one_line_not_a_traceback(served: list[dict[str, Any]]) -> None:
    result = serve("category", "--allow-fakes", INTERNAL_SIGNING_KEY="short")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert "INTERNAL_SIGNING_KEY" in line and "at least 32 bytes" in line
    assert served == []


def test_every_missing_variable_is_named_at_once(served: list[dict[str, Any]]) -> None:
    result = serve("auth")
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    for name in ("INTERNAL_SIGNING_KEY", "JWT_PRIVATE_KEY", "MONGODB_URI", "REDIS_URL"):
        assert name in line, line
    assert "--allow-fakes" in line
    assert served == []


def test_the_deployed_mode_refuses_to_run_on_fakes_unless_asked(
    served: list[dict[str, Any]],
) -> None:
    result = serve("category", INTERNAL_SIGNING_KEY=GOOD_KEY)
    assert result.exit_code != 0
    assert "MONGODB_URI, REDIS_URL" in result.output
    assert served == []


def test_with_fakes_asked_for_it_warns_and_prints_the_port_it_serves_on(
    served: list[dict[str, Any]],
) -> None:
    secrets = cluster_secrets()
    result = serve(
        "auth",
        "--allow-fakes",
        "--host",
        "127.0.0.1",
        INTERNAL_SIGNING_KEY=secrets["internal_signing_key"],
        JWT_PRIVATE_KEY=secrets["jwt_private_key"],
        PORT="4111",
    )
    assert result.exit_code == 0, result.output
    assert "WARNING auth runs on in-memory fake stores" in result.output
    assert "estore: auth serving on http://127.0.0.1:4111" in result.output
    assert served == [
        {
            "host": "127.0.0.1",
            "port": 4111,
            "log_level": "warning",
            "log_config": None,
            "proxy_headers": False,
        }
    ]


def test_a_value_of_the_wrong_type_is_named(served: list[dict[str, Any]]) -> None:
    result = serve("category", "--allow-fakes", INTERNAL_SIGNING_KEY=GOOD_KEY, PORT="nope")
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert "PORT" in line


def test_a_gateway_supergraph_it_would_refuse_is_one_line_naming_the_directive(
    served: list[dict[str, Any]],
) -> None:
    from tests.parity.graph_corpus import refused_graphs

    refused = refused_graphs()["override_label"]
    result = serve(
        "gateway",
        "--allow-fakes",
        INTERNAL_SIGNING_KEY=GOOD_KEY,
        GATEWAY_SUPERGRAPH=str(refused.folder / "supergraph.graphql"),
    )
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert refused.refusal in line and "GATEWAY_SUPERGRAPH" in line
    assert served == []
