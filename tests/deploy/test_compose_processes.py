"""compose.yaml's services run as local processes (tests/deploy/processes.py): each passes its
own healthcheck, a request through the gateway is one trace exported over OTLP, a checkout
through the gateway charges the card, events cross processes over a real redis-server, and a
service killed with SIGKILL catches up on them when it is restarted."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from estore.cluster import SERVICES
from estore.kit.clock import SystemClock
from estore.kit.identity import Caller, KeyRing, Role, TokenIssuer
from estore.kit.testing import free_ports
from tests.deploy.compose_file import resolved, secrets_env_file
from tests.deploy.processes import (
    START_SECONDS,
    LocalService,
    OtlpReceiver,
    local_environment,
    redis_server,
    start_order,
)

# Starting eight processes on a busy two-core machine can outlast the default 120 s.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REGISTER = """mutation ($input: RegisterInput!) {
  register(input: $input) { accessToken user { id email } }
}"""
MY_COUPONS = "{ myCoupons { code personal } }"
CREATE_CATEGORY = "mutation ($name: String!) { createCategory(input: {name: $name}) { id } }"
CREATE_PRODUCT = (
    """mutation ($input: CreateProductInput!) { createProduct(input: $input) { id } }"""
)
CHECKOUT = """mutation ($input: CreateOrderInput!) {
  createOrder(input: $input) { id status failureReason total { amount } }
}"""
MY_ORDERS = "{ orders { id status failureReason } }"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


def operator_admin_token(env: dict[str, str]) -> str:
    """An admin's token signed with the deployment's own key, as whoever holds `.env` could.

    `estore seed` would create the demo admin in a shared MongoDB; these processes share none.
    """
    issuer = TokenIssuer(
        KeyRing.from_pem(env["JWT_PRIVATE_KEY"]),
        issuer="estore-auth",
        audience="estore",
        clock=SystemClock(),
        access_ttl=900,
    )
    admin = Caller(user_id="operator", email="operator@example.com", roles=frozenset({Role.ADMIN}))
    return issuer.issue_access_token(admin)


class System:
    def __init__(self, services: dict[str, LocalService]) -> None:
        self.services = services

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.services['gateway'].port}/graphql"

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        answer = httpx.post(
            self.gateway, json={"query": query, "variables": variables}, headers=headers, timeout=30
        )
        body: dict[str, Any] = answer.json()
        return body

    def register(self, **headers: str) -> str:
        form = {
            "email": f"deployed-{secrets.token_hex(4)}@example.com",
            "password": "long enough 1",
            "name": "Deployed",
        }
        answer = self.graphql(REGISTER, {"input": form}, **headers)
        assert "errors" not in answer, answer
        token: str = answer["data"]["register"]["accessToken"]
        return token

    def as_(self, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = self.graphql(query, variables, authorization=f"Bearer {token}")
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    def sale_product(self, stock: int) -> str:
        admin = operator_admin_token(self.services["auth"].env)
        tag = secrets.token_hex(4)
        category = self.as_(admin, CREATE_CATEGORY, {"name": f"Deployed {tag}"})
        product = {
            "sku": f"DEPLOYED-{tag}",
            "name": "Deployed lamp",
            "price": {"amount": 2500, "currency": "EUR"},
            "stock": stock,
            "categoryId": category["createCategory"]["id"],
        }
        created = self.as_(admin, CREATE_PRODUCT, {"input": product})
        product_id: str = created["createProduct"]["id"]
        return product_id

    def checkout(self, token: str, product_id: str, card: str) -> dict[str, Any]:
        order = {
            "items": [{"productId": product_id, "quantity": 1}],
            "cardNumber": card,
            "idempotencyKey": f"deployed-{secrets.token_hex(8)}",
        }
        placed: dict[str, Any] = self.as_(token, CHECKOUT, {"input": order})["createOrder"]
        return placed

    def my_orders(self, token: str) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = self.as_(token, MY_ORDERS, {})["orders"]
        return orders

    def slow_processor(self, latency_ms: int) -> None:
        """The card processor's chaos dial, turned with the merchant's key as order holds it."""
        payment = self.services["payment"]
        answer = httpx.post(
            f"http://127.0.0.1:{payment.port}/api/v1/admin/behaviour",
            json={"latency_ms": latency_ms},
            headers={"authorization": f"Bearer {payment.env['PAYMENT_SECRET_KEY']}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def welcome_coupons(self, token: str) -> list[dict[str, Any]]:
        answer = self.graphql(MY_COUPONS, authorization=f"Bearer {token}")
        return [c for c in (answer.get("data") or {}).get("myCoupons") or [] if c["personal"]]


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Polls until `check` returns something truthy; never a timed assertion on speed."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not seen within {START_SECONDS} s")


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[System]:
    folder = tmp_path_factory.mktemp("compose-processes")
    compose = resolved(secrets_env_file(folder))
    names = set(SERVICES)
    ports = dict(zip(sorted(names), free_ports(len(names)), strict=True))
    with redis_server(folder) as redis_url:
        services = {
            name: LocalService(
                compose[name],
                local_environment(compose[name], ports, redis_url, otlp.url),
                folder / f"{name}.log",
            )
            for name in names
        }
        try:
            for wave in start_order(compose, names):
                for name in wave:
                    services[name].start()
                for name in wave:
                    services[name].wait_healthy()
            yield System(services)
        finally:
            for service in services.values():
                service.stop()


def test_every_service_passes_its_compose_healthcheck(system: System) -> None:
    for name, service in system.services.items():
        assert service.healthy(), name
        ready = httpx.get(f"http://127.0.0.1:{service.port}/health/ready", timeout=10).json()
        assert ready["status"] == "ready", (name, ready)
        assert ready["checks"]["redis"] == "up", (name, ready)


def test_a_registration_is_one_trace_across_processes_and_its_event_over_otlp(
    system: System, otlp: OtlpReceiver
) -> None:
    trace_id = secrets.token_hex(16)
    system.register(traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01")
    # The gateway's span, auth's, and coupon handling the user:registered event auth published.
    wanted = {("gateway", "POST /graphql"), ("coupon", "consume user:registered")}
    spans = eventually(
        lambda: (
            wanted <= {(s.service, s.name) for s in otlp.of_trace(trace_id)}
            and otlp.of_trace(trace_id)
        ),
        "the registration's spans from the gateway, auth and coupon",
    )
    assert "auth" in {span.service for span in spans}


def test_a_registration_reaches_the_coupon_service_over_redis(system: System) -> None:
    token = system.register()
    [coupon] = eventually(lambda: system.welcome_coupons(token), "the welcome coupon")
    assert coupon["code"]


def test_a_checkout_through_the_gateway_charges_the_card_and_a_decline_fails_the_order(
    system: System,
) -> None:
    product_id = system.sale_product(stock=1)
    shopper = system.register()
    declined = system.checkout(shopper, product_id, DECLINED_CARD)
    assert declined["status"] == "FAILED" and "declined" in declined["failureReason"]
    # The failed checkout gave its unit back: the one unit is still there to buy.
    confirmed = system.checkout(shopper, product_id, GOOD_CARD)
    assert (confirmed["status"], confirmed["total"]["amount"]) == ("CONFIRMED", 2500)


def test_a_service_killed_with_sigkill_consumes_what_it_missed_once_restarted(
    system: System,
) -> None:
    coupon = system.services["coupon"]
    coupon.kill()
    # Registered while coupon is dead: the event waits in coupon's group on the Redis stream.
    token = system.register()
    coupon.start()
    coupon.wait_healthy()
    eventually(lambda: system.welcome_coupons(token), "the coupon of the user who registered")


def test_a_checkout_cut_off_by_a_sigkilled_processor_is_finished_by_its_saga(
    system: System,
) -> None:
    product_id = system.sale_product(stock=1)
    shopper = system.register()
    # The processor holds the charge unrecorded for a minute, so the kill lands mid-charge.
    system.slow_processor(latency_ms=60_000)
    order = {
        "items": [{"productId": product_id, "quantity": 1}],
        "cardNumber": GOOD_CARD,
        "idempotencyKey": f"deployed-{secrets.token_hex(8)}",
    }
    # The gateway gives up on the order subgraph before the charge ends: no answer to read.
    system.graphql(CHECKOUT, {"input": order}, authorization=f"Bearer {shopper}")
    [pending] = eventually(lambda: system.my_orders(shopper), "the order being checked out")
    assert pending["status"] == "PENDING", pending
    payment = system.services["payment"]
    payment.kill()
    payment.start()
    payment.wait_healthy()

    def finished() -> dict[str, Any] | None:
        [order] = system.my_orders(shopper)
        return order if order["status"] != "PENDING" else None

    # The saga gives the stock back and, once the processor answers again, settles the charge
    # it never heard about (refunds it, had it been taken).
    failed = eventually(finished, "the saga finishing the interrupted checkout")
    assert failed["status"] == "FAILED"
    assert "payment" in failed["failureReason"]
    # The unit it held is back, and the restarted processor charges at once.
    confirmed = system.checkout(shopper, product_id, GOOD_CARD)
    assert confirmed["status"] == "CONFIRMED"
