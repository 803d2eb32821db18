"""`estore up --processes`: every service in its own process on a redis-server started for the
run, seeded by the services that hold the data; an order through the gateway, an event that
crosses processes, and Ctrl-C stopping every process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
import pytest

from estore.cluster import SERVICES
from estore.seed import DEMO_USERS
from tests.deploy.test_compose_processes import (
    CHECKOUT,
    GOOD_CARD,
    MY_COUPONS,
    REGISTER,
    eventually,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

LOGIN = """mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken }
}"""
PRODUCTS = "{ products(first: 5) { edges { node { id available } } } }"
BANNER_LINE = re.compile(r"^  (\w+)\s+(http://\S+)$")


@dataclass
class Up:
    process: subprocess.Popen[str]
    urls: dict[str, str]
    before_banner: list[str]

    def graphql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        answer = httpx.post(
            f"{self.urls['gateway']}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        ).json()
        assert "errors" not in answer, answer
        return answer["data"]


def read_banner(stream: IO[str]) -> tuple[list[str], dict[str, str]]:
    """The lines before the banner, and the services' URLs the banner names."""
    before: list[str] = []
    for line in stream:
        if line.startswith("estore: serving"):
            break
        before.append(line.rstrip())
    else:
        raise AssertionError(f"`estore up --processes` ended before serving: {before}")
    urls: dict[str, str] = {}
    for line in stream:
        match = BANNER_LINE.match(line.rstrip())
        if match is None:
            return before, urls
        urls[match[1]] = match[2]
    raise AssertionError("the banner never ended")


@pytest.fixture(scope="module")
def up() -> Iterator[Up]:
    command = [sys.executable, "-m", "estore.cli", "up", "--processes", "--ports", "auto"]
    command += ["--products", "12"]
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "PORT")}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        before, urls = read_banner(process.stdout)
        yield Up(process, urls, before)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_every_service_is_served_by_its_own_ready_process(up: Up) -> None:
    assert set(up.urls) == set(SERVICES)
    assert len(set(up.urls.values())) == len(SERVICES)
    for name, url in up.urls.items():
        health = httpx.get(f"{url}/health/ready", timeout=10).json()
        assert (health["status"], health["checks"]["redis"]) == ("ready", "up"), (name, health)
    assert any("redis://127.0.0.1:" in line for line in up.before_banner), up.before_banner


def test_a_registration_in_the_auth_process_gives_a_coupon_in_the_coupon_process(up: Up) -> None:
    form = {"email": "procs@example.com", "password": "long enough 1", "name": "Procs"}
    token = up.graphql(REGISTER, {"input": form})["register"]["accessToken"]

    def personal_coupons() -> list[dict[str, Any]]:
        return [c for c in up.graphql(MY_COUPONS, token=token)["myCoupons"] if c["personal"]]

    [coupon] = eventually(personal_coupons, "the welcome coupon")
    assert coupon["code"]


def test_the_seeded_customer_orders_a_seeded_product_through_the_gateway(up: Up) -> None:
    customer = DEMO_USERS[0]
    login = up.graphql(LOGIN, {"email": customer.email, "password": customer.password})
    token = login["login"]["accessToken"]
    edges = up.graphql(PRODUCTS)["products"]["edges"]
    product = next(edge["node"] for edge in edges if edge["node"]["available"] > 0)
    order = {
        "items": [{"productId": product["id"], "quantity": 1}],
        "cardNumber": GOOD_CARD,
        "idempotencyKey": "procs-order-1",
    }
    placed = up.graphql(CHECKOUT, {"input": order}, token=token)["createOrder"]
    assert placed["status"] == "CONFIRMED", placed
    [after] = [
        edge["node"]
        for edge in up.graphql(PRODUCTS)["products"]["edges"]
        if edge["node"]["id"] == product["id"]
    ]
    assert after["available"] == product["available"] - 1


def test_ctrl_c_stops_every_process_cleanly(up: Up) -> None:
    # Run last (file order): the fixture's cluster is gone afterwards.
    os.killpg(up.process.pid, signal.SIGINT)
    assert up.process.wait(timeout=60) == 0
    assert up.process.stdout is not None
    assert "estore: stopped cleanly" in up.process.stdout.read()
    still_up = [name for name, url in up.urls.items() if answers(url)]
    assert not still_up, f"still answering after Ctrl-C: {still_up}"


def answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=5)
    except httpx.TransportError:
        return False
    return True
