"""Only the merchant's secret key opens the processor: no shopper token, no forwarded caller."""

from __future__ import annotations

import pytest

from estore.cluster import SERVICES, Cluster, build_service
from estore.kit.bootstrap import Wiring
from estore.kit.identity import CALLER_HEADER, acting_as
from tests.callers import ALICE, as_caller
from tests.integration.payment.test_payment_api import charge_body, merchant

pytestmark = pytest.mark.asyncio(loop_scope="module")

OLD_KEY = "old-merchant-key-" + "o" * 32
NEW_KEY = "new-merchant-key-" + "n" * 32


async def shopper_token(cluster: Cluster) -> dict[str, str]:
    form = {"email": "shopper@example.com", "password": "long enough 1", "name": "Shopper"}
    async with cluster.client("auth") as auth:
        registered = await auth.post("/api/v1/auth/register", json=form)
    assert registered.status_code == 201, registered.text
    return {"Authorization": f"Bearer {registered.json()['access_token']}"}


async def a_charge(cluster: Cluster) -> dict[str, str]:
    async with cluster.client("payment", headers=merchant(cluster)) as payment:
        made = await payment.post("/api/v1/charges", json=charge_body("order:1:charge"))
    assert made.status_code == 201, made.text
    charge: dict[str, str] = made.json()
    return charge


async def test_a_shoppers_token_can_neither_read_nor_refund_nor_make_charges(
    fresh: Cluster,
) -> None:
    made = await a_charge(fresh)
    async with fresh.client("payment", headers=await shopper_token(fresh)) as shopper:
        read = await shopper.get("/api/v1/charges", params={"idempotency_key": "order:1:charge"})
        by_id = await shopper.get(f"/api/v1/charges/{made['id']}")
        refund = await shopper.post(
            f"/api/v1/charges/{made['id']}/refunds", json={"idempotency_key": "steal"}
        )
        created = await shopper.post("/api/v1/charges", json=charge_body("order:2:charge"))
    assert [r.status_code for r in (read, by_id, refund, created)] == [401] * 4
    assert refund.json()["error"]["code"] == "unauthorized"
    assert await fresh.infras["payment"].db["refunds"].count_documents({}) == 0
    assert await fresh.infras["payment"].db["charges"].count_documents({}) == 1


async def test_a_forwarded_caller_is_no_merchant(fresh: Cluster) -> None:
    made = await a_charge(fresh)
    async with fresh.client("payment", headers=as_caller(fresh, ALICE)) as peer:
        refund = await peer.post(
            f"/api/v1/charges/{made['id']}/refunds", json={"idempotency_key": "steal"}
        )
    assert refund.status_code == 401


async def test_a_wrong_key_is_refused(fresh: Cluster) -> None:
    wrong = {"Authorization": "Bearer " + "x" * 43}
    async with fresh.client("payment", headers=wrong) as guesser:
        response = await guesser.get("/api/v1/charges", params={"idempotency_key": "k"})
    assert response.status_code == 401


async def test_during_a_rotation_the_old_and_the_new_key_both_work() -> None:
    overrides = {"payment_secret_key": NEW_KEY, "payment_accepted_keys": f" {OLD_KEY} ,"}
    cluster = Cluster(services=["payment"], overrides=overrides)
    await cluster.start()
    try:
        for key, expected in ((OLD_KEY, 404), (NEW_KEY, 404), ("retired-" + "r" * 32, 401)):
            async with cluster.client("payment", headers={"Authorization": f"Bearer {key}"}) as c:
                response = await c.get("/api/v1/charges", params={"idempotency_key": "none"})
            assert response.status_code == expected, key
    finally:
        await cluster.stop()


@pytest.mark.parametrize("service", ["payment", "order"])
async def test_without_the_merchant_key_payment_and_order_refuse_to_start(service: str) -> None:
    with pytest.raises(SystemExit) as refused:
        build_service(
            SERVICES[service], Wiring(), internal_signing_key="k" * 32, payment_secret_key=None
        )
    message = str(refused.value)
    assert service in message and "PAYMENT_SECRET_KEY" in message and "\n" not in message


async def test_a_short_merchant_key_is_refused_in_one_line() -> None:
    with pytest.raises(SystemExit) as refused:
        build_service(
            SERVICES["payment"], Wiring(), internal_signing_key="k" * 32, payment_secret_key="short"
        )
    assert "PAYMENT_SECRET_KEY" in str(refused.value) and "\n" not in str(refused.value)


async def test_order_never_sends_our_signed_caller_to_the_processor() -> None:
    order = Cluster(services=["order"]).infras["order"]
    with acting_as(ALICE, order.internal_identity):
        to_payment = order.clients["payment"].build_request("GET", "/api/v1/charges")
        to_product = order.clients["product"].build_request("GET", "/api/v1/products")
    assert CALLER_HEADER.lower() not in to_payment.headers
    assert CALLER_HEADER.lower() in to_product.headers
