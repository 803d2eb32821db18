"""compose.yaml's services as local processes: each its own command and environment, the
compose host names mapped to loopback ports, a real redis-server, an OTLP receiver for spans.

No MongoDB server can run on this machine, so each service keeps its documents in memory
(`--allow-fakes`); each service has its own database in compose too, so nothing is shared
that would be shared there, but a killed service loses its documents (its Redis state stays).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from estore.kit.testing import free_ports
from tests.deploy.compose_file import ComposeService

# Generous: two cores shared by several test runs; a service importing cold takes seconds.
START_SECONDS = 90
# What these processes must not take from compose: there is no MongoDB server here.
NOT_HERE = {"MONGODB_URI"}


@dataclass(frozen=True)
class ExportedSpan:
    service: str
    trace_id: str
    name: str


class OtlpReceiver:
    """A collector stand-in: accepts OTLP/HTTP protobuf exports and keeps the spans."""

    def __init__(self) -> None:
        self.spans: list[ExportedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.take(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                with self._lock:
                    self.spans.extend(
                        ExportedSpan(attributes["service.name"], span.trace_id.hex(), span.name)
                        for span in scope.spans
                    )

    def of_trace(self, trace_id: str) -> list[ExportedSpan]:
        with self._lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise AssertionError("redis-server is not installed (apt-get install redis-server)")
    port = free_ports(1)[0]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), f"redis-server on :{port}", process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def wait_for(check: Any, what: str, process: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode} before it was ready")
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} was not ready within {START_SECONDS} s")


@dataclass
class LocalService:
    """One compose service run as `estore <its command>` on loopback."""

    compose: ComposeService
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def name(self) -> str:
        return self.compose.name

    @property
    def port(self) -> int:
        return int(self.env["PORT"])

    def start(self) -> None:
        command = [*self.compose.command, "--host", "127.0.0.1", "--allow-fakes"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "estore.cli", *command],
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def healthy(self) -> bool:
        """The compose healthcheck's own command, run with the service's environment."""
        kind, program, *args = self.compose.spec["healthcheck"]["test"]
        assert (kind, program) == ("CMD", "python"), "the healthcheck runs Python in the image"
        done = subprocess.run(
            [sys.executable, *args], env=self.env, capture_output=True, timeout=30
        )
        return done.returncode == 0

    def answers_ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/health/ready"
            return httpx.get(url, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def wait_healthy(self) -> None:
        # Polled in-process (a Python start per poll costs the other tests their CPU), then
        # confirmed by the healthcheck compose itself would run.
        wait_for(self.answers_ready, f"{self.name} (log: {self.log})", self.process)
        assert self.healthy(), f"{self.name} answers ready, but its compose healthcheck fails"

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as when a container is killed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def local_environment(
    compose: ComposeService, ports: dict[str, int], redis_url: str, otlp_url: str
) -> dict[str, str]:
    """The service's compose environment with each compose host name mapped to loopback."""
    env = {key: value for key, value in compose.environment.items() if key not in NOT_HERE}
    for key, value in env.items():
        if key.endswith("_SERVICE_URL"):
            host = urlsplit(value).hostname or ""
            env[key] = f"http://127.0.0.1:{ports[host]}"
    return (
        env
        | {
            "PORT": str(ports[compose.name]),
            "REDIS_URL": redis_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
            # The span batches leave every 200 ms instead of every 5 s: the test waits less.
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        | _interpreter_env()
    )


def _interpreter_env() -> dict[str, str]:
    # Only what finds the interpreter and the code under test; nothing else leaks in.
    kept = {"PATH": "/usr/bin:/bin"}
    if "PYTHONPATH" in os.environ:
        kept["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return kept


def start_order(services: dict[str, ComposeService], names: set[str]) -> list[list[str]]:
    """Waves of services compose would start together: each wave's dependencies are met by
    the waves before it (healthy, or only started where compose asks no more)."""
    started: set[str] = set()
    waves: list[list[str]] = []
    while started != names:
        wave = sorted(
            name
            for name in names - started
            if all(dep in started for dep in services[name].depends_on if dep in names)
        )
        if not wave:
            raise AssertionError(f"compose could never start {sorted(names - started)}")
        waves.append(wave)
        started.update(wave)
    return waves
