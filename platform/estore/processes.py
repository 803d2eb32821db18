"""One process per service on this machine (`estore up --processes`), as the deployed mode runs
them, sharing events through a Redis server, so the cluster uses every core.

Each child is `estore serve NAME` with its environment set as a deployment would set it: its
port, its peers' URLs, the shared secrets and `REDIS_URL`. Without `MONGODB_URI` each service
keeps its own database in memory in its own process (every service has its own database, so
nothing is lost that a deployment would share); the demo data is seeded by the services that
hold it (`estore.seed.seed_service_while_serving`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis
from fakeredis import TcpFakeServer

from estore.cluster import SERVICES, cluster_secrets
from estore.kit.testing import free_ports

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.25
Echo = Callable[[str], None]


class ChildFailed(Exception):
    """A child process ended, or could not become ready; the message names it and why."""


@dataclass
class Child:
    """One supervised process and the URL that answers 200 once it is ready."""

    name: str
    command: list[str]
    env: dict[str, str]
    ready_url: str
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        # Its own session: Ctrl-C reaches the supervisor alone, which stops the children in
        # order instead of every process tearing down mid-request at once. Their stdout only
        # repeats the banner; their log lines and warnings go to stderr, which is kept.
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=subprocess.DEVNULL, start_new_session=True
        )

    @property
    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def answers_ready(self) -> bool:
        try:
            return httpx.get(self.ready_url, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait_or_kill(self, deadline: float) -> None:
        """Waits for the child to end until `deadline` (monotonic), then kills it."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def describe_status(status: int) -> str:
    """An exit status as a person reads it: `status 1`, or `killed by SIGKILL`."""
    if status < 0:
        return f"killed by {signal.Signals(-status).name}"
    return f"status {status}"


class Supervisor:
    """Starts children, waits until every one is ready, reports the first that ends."""

    def __init__(self, children: list[Child], *, poll_s: float = POLL_S) -> None:
        self.children = children
        self._poll_s = poll_s

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Every child started and ready; ChildFailed (the rest stopped) when one is not."""
        for child in self.children:
            child.start()
        waiting = list(self.children)
        deadline = time.monotonic() + timeout_s
        while waiting:
            self._raise_if_one_ended()
            waiting = [child for child in waiting if not child.answers_ready()]
            if waiting and time.monotonic() > deadline:
                names = ", ".join(child.name for child in waiting)
                raise ChildFailed(f"not ready within {timeout_s:.0f} s: {names}")
            if waiting:
                time.sleep(self._poll_s)

    def watch(self) -> None:
        """Returns never; raises ChildFailed when a child ends."""
        while True:
            self._raise_if_one_ended()
            time.sleep(self._poll_s)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to every child (the gateway first, so no new request fans out to services
        already gone), then each is waited for together; one still running is killed."""
        for child in reversed(self.children):
            child.terminate()
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            child.wait_or_kill(deadline)

    def _raise_if_one_ended(self) -> None:
        for child in self.children:
            status = child.exit_status
            if status is not None:
                raise ChildFailed(f"{child.name} exited ({describe_status(status)})")


@contextmanager
def redis_for_processes(url: str | None, echo: Echo) -> Iterator[str]:
    """The Redis the children share: `url` when given; else a throwaway redis-server on a
    free loopback port, or fakeredis's TCP server where no redis-server is installed.

    redis-server is preferred: measured here it costs a fifth of the CPU per command
    (reports/benchmarks.md), and the children need both cores.
    """
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    port = free_ports(1)[0]
    if binary is None:
        echo(f"estore: no redis-server on PATH; events go through fakeredis on :{port}")
        with _fake_redis_server(port):
            yield f"redis://127.0.0.1:{port}/0"
        return
    with _redis_server(binary, port):
        yield f"redis://127.0.0.1:{port}/0"


@contextmanager
def _redis_server(binary: str, port: int) -> Iterator[None]:
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_for_ping(port, lambda: process.poll() is None)
        yield
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def _fake_redis_server(port: int) -> Iterator[None]:
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _wait_for_ping(port, thread.is_alive)
        yield
    finally:
        server.shutdown()
        server.server_close()


def _wait_for_ping(port: int, alive: Callable[[], bool]) -> None:
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and alive():
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise ChildFailed(f"the Redis server on :{port} did not answer")


def service_children(
    host: str,
    ports: Mapping[str, int],
    redis_url: str,
    *,
    products: int | None,
    settings: Mapping[str, Any] | None = None,
) -> list[Child]:
    """Every service as `estore serve NAME`, configured by its environment only.

    `products` seeds the demo data (None: no seeding); `settings` are extra settings for
    every service (e.g. lifted login limits for a load run), as the environment gives them.
    """
    peer_host = "127.0.0.1" if host == "0.0.0.0" else host
    urls = {name: f"http://{peer_host}:{port}" for name, port in ports.items()}
    shared = {
        **os.environ,
        **{key.upper(): str(value) for key, value in cluster_secrets().items()},
        **{f"{name.upper()}_SERVICE_URL": url for name, url in urls.items()},
        **{key.upper(): _env_value(value) for key, value in (settings or {}).items()},
        "REDIS_URL": redis_url,
    }
    seeding = [] if products is None else ["--seed", "--products", str(products)]
    return [
        Child(
            name=name,
            command=[
                sys.executable,
                "-m",
                "estore.cli",
                "serve",
                name,
                "--host",
                host,
                "--allow-fakes",
                *seeding,
            ],
            env={**shared, "PORT": str(ports[name])},
            ready_url=f"{urls[name]}/health/ready",
        )
        for name in SERVICES
    ]


def _env_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
