"""The payment processor in the in-process cluster: charges, declines, refunds, merchant keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role

pytestmark = pytest.mark.asyncio(loop_scope="module")

GOOD_CARD = "4242424242424242"
DECLINES = {
    "4000000000009995": "insufficient_funds",
    "4000000000009979": "stolen_card",
    "4000000000000002": "card_declined",
    "4000000000000069": "expired_card",
}


def merchant(cluster: Cluster) -> dict[str, str]:
    """What the order service sends: the merchant's secret key."""
    key = cluster.infras["payment"].settings.payment_secret_key
    assert key is not None
    return {"Authorization": f"Bearer {key.get_secret_value()}"}


def signed(cluster: Cluster, *roles: Role, user_id: str = "cust-1") -> dict[str, str]:
    caller = Caller(
        user_id=user_id, email=f"{user_id}@example.com", roles=frozenset(roles or {Role.CUSTOMER})
    )
    return cluster.caller_headers(caller)


@pytest.fixture
async def payment(fresh: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with fresh.client("payment", headers=merchant(fresh)) as client:
        yield client


def charge_body(key: str = "order-1", **changes: Any) -> dict[str, Any]:
    body = {
        "idempotency_key": key,
        "amount": 2599,
        "currency": "EUR",
        "card_number": GOOD_CARD,
        "customer_id": "cust-1",
        "description": "order order-1",
    }
    return {**body, **changes}


async def charge(payment: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await payment.post("/api/v1/charges", json=charge_body(**changes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_good_card_is_charged(payment: httpx.AsyncClient) -> None:
    body = await charge(payment)
    assert body["status"] == "SUCCEEDED"
    assert (body["amount"], body["currency"], body["refunded"]) == (2599, "EUR", 0)
    assert body["idempotency_key"] == "order-1"
    assert body["card_last4"] == "4242"
    assert "card_number" not in body


async def test_the_same_idempotency_key_never_charges_twice(payment: httpx.AsyncClient) -> None:
    first = await charge(payment)
    again = await payment.post("/api/v1/charges", json=charge_body())
    assert again.status_code == 200
    assert again.json() == first


async def test_concurrent_charges_with_one_key_record_one_charge(
    payment: httpx.AsyncClient, fresh: Cluster
) -> None:
    responses = await asyncio.gather(
        *(payment.post("/api/v1/charges", json=charge_body()) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await fresh.infras["payment"].db["charges"].count_documents({}) == 1


async def test_a_different_amount_with_a_used_key_is_refused(payment: httpx.AsyncClient) -> None:
    await charge(payment)
    response = await payment.post("/api/v1/charges", json=charge_body(amount=100))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_mismatch"


@pytest.mark.parametrize(("card", "decline_code"), sorted(DECLINES.items()))
async def test_each_test_card_declines_with_its_code_and_the_attempt_is_recorded(
    payment: httpx.AsyncClient, card: str, decline_code: str
) -> None:
    response = await payment.post("/api/v1/charges", json=charge_body(card_number=card))
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "card_declined"
    assert error["details"][0]["decline_code"] == decline_code
    assert decline_code.replace("_", " ") in error["message"]

    looked_up = await payment.get("/api/v1/charges", params={"idempotency_key": "order-1"})
    assert looked_up.status_code == 200
    assert looked_up.json()["status"] == "DECLINED"
    assert looked_up.json()["decline_code"] == decline_code
    replay = await payment.post("/api/v1/charges", json=charge_body(card_number=card))
    assert replay.status_code == 402, "a replayed declined key declines again, never charges"


async def test_a_charge_is_found_by_its_idempotency_key(payment: httpx.AsyncClient) -> None:
    made = await charge(payment)
    found = await payment.get("/api/v1/charges", params={"idempotency_key": "order-1"})
    assert found.status_code == 200
    assert found.json() == made
    by_id = await payment.get(f"/api/v1/charges/{made['id']}")
    assert by_id.json() == made


async def test_an_unknown_idempotency_key_is_not_found(payment: httpx.AsyncClient) -> None:
    response = await payment.get("/api/v1/charges", params={"idempotency_key": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_voiding_an_unused_key_refuses_any_charge_sent_under_it_later(
    payment: httpx.AsyncClient,
) -> None:
    voided = await payment.post("/api/v1/charges/voids", json={"idempotency_key": "order-1"})
    assert voided.status_code == 200
    assert (voided.json()["status"], voided.json()["amount"]) == ("VOIDED", 0)

    late = await payment.post("/api/v1/charges", json=charge_body())
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "charge_voided"
    again = await payment.post("/api/v1/charges/voids", json={"idempotency_key": "order-1"})
    assert again.json() == voided.json(), "a void is idempotent"
    refund = await payment.post(
        f"/api/v1/charges/{voided.json()['id']}/refunds", json={"idempotency_key": "r1"}
    )
    assert refund.status_code == 409, "nothing was taken, so nothing can be given back"


async def test_voiding_a_used_key_answers_the_charge_made_under_it(
    payment: httpx.AsyncClient,
) -> None:
    made = await charge(payment)
    voided = await payment.post("/api/v1/charges/voids", json={"idempotency_key": "order-1"})
    assert voided.status_code == 200
    assert voided.json() == made
    replay = await payment.post("/api/v1/charges", json=charge_body())
    assert replay.status_code == 200, "the charge stands and replays as before"


async def test_a_void_racing_a_charge_under_one_key_leaves_exactly_one_outcome(
    payment: httpx.AsyncClient,
) -> None:
    void, made = await asyncio.gather(
        payment.post("/api/v1/charges/voids", json={"idempotency_key": "order-1"}),
        payment.post("/api/v1/charges", json=charge_body()),
    )
    final = (await payment.get("/api/v1/charges", params={"idempotency_key": "order-1"})).json()
    assert void.json() == final
    if final["status"] == "VOIDED":
        assert made.status_code == 409
    else:
        assert made.status_code == 201 and made.json() == final


async def test_voids_come_only_from_the_merchant(fresh: Cluster) -> None:
    async with fresh.client("payment") as anonymous:
        response = await anonymous.post(
            "/api/v1/charges/voids", json={"idempotency_key": "order-1"}
        )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"card_number": "4242424242424241"}, "card_number"),
        ({"card_number": "abc"}, "card_number"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_charge_says_which_field_is_wrong_and_charges_nothing(
    payment: httpx.AsyncClient, fresh: Cluster, changes: dict[str, Any], field: str
) -> None:
    response = await payment.post("/api/v1/charges", json=charge_body(**changes))
    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
    assert await fresh.infras["payment"].db["charges"].count_documents({}) == 0


async def test_a_charge_without_an_idempotency_key_is_refused(payment: httpx.AsyncClient) -> None:
    body = charge_body()
    del body["idempotency_key"]
    response = await payment.post("/api/v1/charges", json=body)
    assert response.status_code == 422
    assert "idempotency_key" in response.json()["error"]["message"]


async def test_anonymous_callers_cannot_charge(fresh: Cluster) -> None:
    async with fresh.client("payment") as anonymous:
        response = await anonymous.post("/api/v1/charges", json=charge_body())
    assert response.status_code == 401
    assert await fresh.infras["payment"].db["charges"].count_documents({}) == 0


async def test_a_partial_then_the_rest_is_refunded(payment: httpx.AsyncClient) -> None:
    made = await charge(payment)
    url = f"/api/v1/charges/{made['id']}/refunds"
    partial = await payment.post(url, json={"idempotency_key": "r1", "amount": 599})
    assert partial.status_code == 201
    assert partial.json()["amount"] == 599
    assert partial.json()["charge_id"] == made["id"]
    rest = await payment.post(url, json={"idempotency_key": "r2", "amount": None})
    assert rest.status_code == 201
    assert rest.json()["amount"] == 2000
    found = await payment.get(f"/api/v1/charges/{made['id']}")
    assert found.json()["refunded"] == 2599
    listed = await payment.get(url)
    assert [r["amount"] for r in listed.json()["items"]] == [599, 2000]


async def test_a_refund_is_idempotent_by_its_key(payment: httpx.AsyncClient) -> None:
    made = await charge(payment)
    url = f"/api/v1/charges/{made['id']}/refunds"
    first = await payment.post(url, json={"idempotency_key": "r1", "amount": 500})
    again = await payment.post(url, json={"idempotency_key": "r1", "amount": 500})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (await payment.get(f"/api/v1/charges/{made['id']}")).json()["refunded"] == 500


async def test_concurrent_full_refunds_with_one_key_refund_once(
    payment: httpx.AsyncClient,
) -> None:
    made = await charge(payment)
    url = f"/api/v1/charges/{made['id']}/refunds"
    responses = await asyncio.gather(
        *(payment.post(url, json={"idempotency_key": "cancel-1"}) for _ in range(8))
    )
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert (await payment.get(f"/api/v1/charges/{made['id']}")).json()["refunded"] == 2599


async def test_refunding_more_than_is_left_is_refused_and_changes_nothing(
    payment: httpx.AsyncClient,
) -> None:
    made = await charge(payment)
    url = f"/api/v1/charges/{made['id']}/refunds"
    await payment.post(url, json={"idempotency_key": "r1", "amount": 2000})
    response = await payment.post(url, json={"idempotency_key": "r2", "amount": 600})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "refund_exceeds_charge"
    assert error["details"] == [{"requested": 600, "refundable": 599}]
    assert (await payment.get(f"/api/v1/charges/{made['id']}")).json()["refunded"] == 2000


async def test_a_fully_refunded_charge_has_no_rest_to_refund(payment: httpx.AsyncClient) -> None:
    made = await charge(payment)
    url = f"/api/v1/charges/{made['id']}/refunds"
    await payment.post(url, json={"idempotency_key": "r1"})
    response = await payment.post(url, json={"idempotency_key": "r2"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "refund_exceeds_charge"


async def test_a_refund_key_reused_for_another_amount_is_refused(
    payment: httpx.AsyncClient,
) -> None:
    made = await charge(payment)
    url = f"/api/v1/charges/{made['id']}/refunds"
    await payment.post(url, json={"idempotency_key": "r1", "amount": 100})
    response = await payment.post(url, json={"idempotency_key": "r1", "amount": 200})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_mismatch"


async def test_a_declined_charge_cannot_be_refunded(payment: httpx.AsyncClient) -> None:
    await payment.post("/api/v1/charges", json=charge_body(card_number="4000000000000002"))
    declined = (await payment.get("/api/v1/charges", params={"idempotency_key": "order-1"})).json()
    response = await payment.post(
        f"/api/v1/charges/{declined['id']}/refunds", json={"idempotency_key": "r1"}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "charge_not_refundable"


@pytest.mark.parametrize("amount", [0, -1, "all"])
async def test_a_bad_refund_amount_is_refused(payment: httpx.AsyncClient, amount: Any) -> None:
    made = await charge(payment)
    response = await payment.post(
        f"/api/v1/charges/{made['id']}/refunds", json={"idempotency_key": "r1", "amount": amount}
    )
    assert response.status_code == 422
    assert "amount" in response.json()["error"]["message"]


async def test_refunding_an_unknown_charge_is_not_found(payment: httpx.AsyncClient) -> None:
    response = await payment.post("/api/v1/charges/nope/refunds", json={"idempotency_key": "r1"})
    assert response.status_code == 404


async def test_only_the_merchant_or_admins_turn_the_chaos_dials(
    payment: httpx.AsyncClient, fresh: Cluster
) -> None:
    dials = {"latency_ms": 0, "timeout_rate": 0.0, "decline_rate": 1.0, "seed": 7}
    async with fresh.client("payment", headers=signed(fresh)) as customer:
        refused = await customer.post("/api/v1/admin/behaviour", json=dials)
    assert refused.status_code == 403
    by_merchant = await payment.post("/api/v1/admin/behaviour", json={"seed": 7})
    assert by_merchant.status_code == 200
    async with fresh.client("payment", headers=signed(fresh, Role.ADMIN)) as admin:
        changed = await admin.post("/api/v1/admin/behaviour", json=dials)
        assert changed.status_code == 200
        assert changed.json() == dials
        assert (await admin.get("/api/v1/admin/behaviour")).json() == dials

    declined = await payment.post("/api/v1/charges", json=charge_body())
    assert declined.status_code == 402
    assert declined.json()["error"]["details"][0]["decline_code"] == "card_declined"


@pytest.mark.parametrize(
    "dials", [{"decline_rate": 1.5}, {"timeout_rate": -0.1}, {"latency_ms": -1}, {"jitter": 1}]
)
async def test_bad_chaos_dials_are_refused_and_nothing_changes(
    payment: httpx.AsyncClient, fresh: Cluster, dials: dict[str, Any]
) -> None:
    admin = signed(fresh, Role.ADMIN, user_id="admin-1")
    response = await payment.post("/api/v1/admin/behaviour", json=dials, headers=admin)
    assert response.status_code == 422
    assert next(iter(dials)) in response.json()["error"]["message"]
    calm = {"latency_ms": 0, "timeout_rate": 0.0, "decline_rate": 0.0, "seed": 0}
    assert (await payment.get("/api/v1/admin/behaviour", headers=admin)).json() == calm


async def test_health_and_metrics_are_served(payment: httpx.AsyncClient) -> None:
    assert (await payment.get("/health")).json() == {"status": "ok", "service": "payment"}
    assert (await payment.get("/health/ready")).status_code == 200
    await charge(payment)
    metrics = (await payment.get("/metrics")).text
    assert 'route="/api/v1/charges",status="201"' in metrics
