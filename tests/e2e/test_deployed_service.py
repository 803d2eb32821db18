"""The deployed mode: `estore serve auth` configured only by its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from estore.kit.observability import LOG_FIELDS
from estore.kit.testing import free_ports

pytestmark = pytest.mark.e2e

ESTORE = Path(sys.executable).with_name("estore")


def secrets_from_cli() -> dict[str, str]:
    """What `estore secrets` prints, read back as a deployment would read its env file."""
    lines = subprocess.run(
        [ESTORE, "secrets"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    env = dict(line.split("=", 1) for line in lines)
    return {name: value.strip('"') for name, value in env.items()}


def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise AssertionError(
                f"the service exited early: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@dataclass
class Served:
    base: str
    process: subprocess.Popen[str]

    def stop(self) -> list[str]:
        """Stops the service (if still running) and returns what it wrote to stderr."""
        if self.process.returncode is None:
            self.process.terminate()
        _, stderr = self.process.communicate(timeout=10)
        return str(stderr or "").splitlines()


@pytest.fixture
def served_auth() -> Iterator[Served]:
    port = free_ports(1)[0]
    env = {
        **os.environ,
        **secrets_from_cli(),
        "PORT": str(port),
        "AUTH_SERVICE_URL": f"http://127.0.0.1:{port}",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "true",
    }
    process = subprocess.Popen(
        # No MongoDB server can run here: the fakes are asked for explicitly.
        [ESTORE, "serve", "auth", "--host", "127.0.0.1", "--allow-fakes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_up(f"{served.base}/health/ready", process)
        yield served
    finally:
        served.stop()


@pytest.fixture
def auth_service(served_auth: Served) -> str:
    return served_auth.base


def test_a_service_runs_alone_from_its_environment(auth_service: str) -> None:
    form = {"email": "deployed@example.com", "password": "long enough 1", "name": "D"}
    registered = httpx.post(f"{auth_service}/api/v1/auth/register", json=form, timeout=5)
    assert registered.status_code == 201, registered.text
    token = registered.json()["access_token"]
    me = httpx.get(
        f"{auth_service}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert me.json()["email"] == form["email"]


def test_a_service_without_its_secrets_refuses_to_start() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in {"INTERNAL_SIGNING_KEY", "JWT_PRIVATE_KEY"}
    }
    done = subprocess.run(
        [ESTORE, "serve", "auth"],
        env={**env, "PORT": str(free_ports(1)[0])},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "INTERNAL_SIGNING_KEY" in done.stderr


def test_every_line_a_deployed_service_logs_is_json_with_its_trace(served_auth: Served) -> None:
    trace_id = "5" * 32
    httpx.post(
        f"{served_auth.base}/api/v1/auth/login",
        json={"email": "nobody@example.com", "password": "wrong password"},
        headers={"traceparent": f"00-{trace_id}-{'6' * 16}-01"},
        timeout=5,
    )
    # The only plain line is the CLI's own warning that --allow-fakes was asked for.
    lines = [line for line in served_auth.stop() if not line.startswith("estore: WARNING")]
    assert lines, "the service logged nothing at INFO"
    records = [json.loads(line) for line in lines]
    for record in records:
        assert set(LOG_FIELDS) <= set(record), record
        assert record["service"] == "auth"
    failed = [r for r in records if r["event"] == "auth.login_failed"]
    assert [(r["level"], r["trace_id"]) for r in failed] == [("info", trace_id)]
