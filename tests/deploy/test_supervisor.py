"""The supervisor of `estore up --processes`, on small real processes: readiness waits for every
child, a child that ends is named with its exit status, stopping ends every child."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

import pytest
import redis

from estore.kit.testing import free_ports
from estore.processes import Child, ChildFailed, Supervisor, describe_status, redis_for_processes

# A child that answers /health/ready with 200 only after `delay` seconds, then serves on.
SERVER = """
import http.server, signal, sys, time
delay, port = float(sys.argv[1]), int(sys.argv[2])
if sys.argv[3:] == ["deaf"]:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
born = time.monotonic()
class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if time.monotonic() - born >= delay else 503)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Ready).serve_forever()
"""


def child(name: str, delay: float = 0.0, *, deaf: bool = False) -> Child:
    """`deaf`: ignores SIGTERM once serving."""
    port = free_ports(1)[0]
    return Child(
        name=name,
        command=[sys.executable, "-c", SERVER, str(delay), str(port), *(["deaf"] if deaf else [])],
        env={},
        ready_url=f"http://127.0.0.1:{port}/health/ready",
    )


@pytest.fixture
def supervised() -> Iterator[list[Supervisor]]:
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop()


def test_start_returns_only_when_every_child_answers_ready(
    supervised: list[Supervisor],
) -> None:
    children = [child("quick"), child("slow", delay=1.5)]
    supervisor = Supervisor(children, poll_s=0.05)
    supervised.append(supervisor)
    supervisor.start(timeout_s=60)
    assert all(c.answers_ready() for c in children)


def test_a_child_that_dies_while_serving_is_named_with_its_exit_status(
    supervised: list[Supervisor],
) -> None:
    children = [child("order"), child("coupon")]
    supervisor = Supervisor(children, poll_s=0.05)
    supervised.append(supervisor)
    supervisor.start(timeout_s=60)
    assert children[1].process is not None
    children[1].process.send_signal(signal.SIGKILL)
    with pytest.raises(ChildFailed, match=r"^coupon exited \(killed by SIGKILL\)$"):
        supervisor.watch()


def test_a_child_that_exits_before_it_is_ready_is_named_and_start_fails(
    supervised: list[Supervisor],
) -> None:
    broken = Child(
        "product", [sys.executable, "-c", "raise SystemExit(3)"], {}, "http://127.0.0.1:9"
    )
    supervisor = Supervisor([child("auth"), broken], poll_s=0.05)
    supervised.append(supervisor)
    with pytest.raises(ChildFailed, match=r"^product exited \(status 3\)$"):
        supervisor.start(timeout_s=60)


def test_a_child_never_ready_is_named_when_start_gives_up(supervised: list[Supervisor]) -> None:
    supervisor = Supervisor([child("auth"), child("gateway", delay=3600)], poll_s=0.05)
    supervised.append(supervisor)
    with pytest.raises(ChildFailed, match=r"^not ready within 2 s: gateway$"):
        supervisor.start(timeout_s=2)


def test_stop_ends_every_child(supervised: list[Supervisor]) -> None:
    children = [child("auth"), child("product")]
    supervisor = Supervisor(children, poll_s=0.05)
    supervised.append(supervisor)
    supervisor.start(timeout_s=60)
    supervisor.stop()
    assert [c.exit_status for c in children] == [-signal.SIGTERM, -signal.SIGTERM]


def test_stop_kills_a_child_that_ignores_sigterm(supervised: list[Supervisor]) -> None:
    children = [child("auth"), child("order", deaf=True)]
    supervisor = Supervisor(children, poll_s=0.05)
    supervised.append(supervisor)
    supervisor.start(timeout_s=60)
    supervisor.stop(timeout_s=1)
    assert [c.exit_status for c in children] == [-signal.SIGTERM, -signal.SIGKILL]


def test_exit_statuses_read_as_a_person_says_them() -> None:
    assert describe_status(0) == "status 0"
    assert describe_status(-9) == "killed by SIGKILL"


@pytest.mark.parametrize("installed", [True, False], ids=["redis-server", "fakeredis"])
def test_the_embedded_redis_speaks_streams_with_or_without_redis_server(
    installed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not installed:
        monkeypatch.setenv("PATH", "/nonexistent")
    notes: list[str] = []
    with redis_for_processes(None, notes.append) as url:
        client = redis.Redis.from_url(url)
        client.xadd("order:created", {"id": "1"})
        client.xgroup_create("order:created", "coupon", id="0")
        [[_, entries]] = client.xreadgroup("coupon", "c1", {"order:created": ">"})
        assert entries[0][1] == {b"id": b"1"}
    assert bool(notes) is not installed


def test_a_given_redis_url_is_used_as_it_is() -> None:
    with redis_for_processes("redis://example.invalid:6379/0", print) as url:
        assert url == "redis://example.invalid:6379/0"
