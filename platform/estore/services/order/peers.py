"""The product, coupon and payment REST contracts as the saga uses them, over the kit's clients.

Every call here carries an idempotency key (the order id or a key derived from it), so all are
sent with `idempotent=True`: the kit may retry them within the deadline. Answers are sorted
into three outcomes: a value, `Rejected` (a definite no, with a reason a customer can read),
or `PeerUnavailable` (no answer: the call may or may not have taken effect).
"""

from __future__ import annotations

from typing import Any

import httpx

from estore.kit.clients import DependencyError, ServiceClient


class Rejected(Exception):
    """A definite no; `reason` is for the customer.

    Usually the peer refused and nothing took effect; `took_effect` is set when the step did
    something before it was refused, so its compensation must still run.
    """

    def __init__(self, reason: str, code: str, *, took_effect: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.took_effect = took_effect


class PeerUnavailable(Exception):
    """The peer did not answer usably; whether the call took effect is unknown.

    `sent` is False only when the call certainly never left (its circuit breaker refused its
    first attempt).
    """

    def __init__(self, peer: str, detail: str, *, sent: bool = True) -> None:
        super().__init__(f"{peer}: {detail}")
        self.peer = peer
        self.sent = sent


def _error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _unexpected(peer: str, response: httpx.Response) -> PeerUnavailable:
    error = _error(response)
    return PeerUnavailable(peer, f"answered {response.status_code}: {error.get('message', '')}")


async def _call(client: ServiceClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.request(method, path, idempotent=True, **kwargs)
    except DependencyError as exc:
        # Not "circuit open" but "no attempt sent": a retry refused by the breaker follows
        # attempts that may have taken effect.
        raise PeerUnavailable(client.name, exc.reason, sent=exc.maybe_sent) from exc


def _shortage(details: list[dict[str, Any]] | None) -> str:
    parts = [
        f"product {d.get('product_id')}: {d.get('requested')} requested, "
        f"{d.get('available')} available"
        for d in details or []
    ]
    return "not enough stock" + (f" ({'; '.join(parts)})" if parts else "")


class ProductPeer:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def reserve(self, key: str, lines: list[dict[str, Any]], ttl: int) -> dict[str, Any]:
        body = {"reservation_key": key, "items": lines, "ttl_seconds": ttl}
        response = await _call(self._client, "POST", "/api/v1/reservations", json=body)
        if response.status_code in (200, 201):
            reservation: dict[str, Any] = response.json()
            return reservation
        error = _error(response)
        if response.status_code == 409 and error.get("code") == "out_of_stock":
            raise Rejected(_shortage(error.get("details")), "out_of_stock")
        if response.status_code in (404, 422):
            message = error.get("message") or "a product in the cart does not exist"
            raise Rejected(message, error.get("code", "not_found"))
        raise _unexpected("product", response)

    async def priced(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lines priced at today's catalog prices, as a reservation prices them.

        For an order refused before anything was held: it still shows what was asked for and
        what it would have cost. Products that do not exist are left out.
        """
        ids = ",".join(line["product_id"] for line in lines)
        response = await _call(self._client, "GET", "/api/v1/products", params={"ids": ids})
        if response.status_code != 200:
            raise _unexpected("product", response)
        found = {p["id"]: p for p in response.json()["items"]}
        return [
            {
                "product_id": line["product_id"],
                "sku": found[line["product_id"]]["sku"],
                "name": found[line["product_id"]]["name"],
                "quantity": line["quantity"],
                "unit_price": found[line["product_id"]]["price"],
                "category_id": found[line["product_id"]]["category_id"],
            }
            for line in lines
            if line["product_id"] in found
        ]

    async def reservation(self, reservation_id: str) -> dict[str, Any] | None:
        response = await _call(self._client, "GET", f"/api/v1/reservations/{reservation_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unexpected("product", response)
        reservation: dict[str, Any] = response.json()
        return reservation

    async def confirm(self, reservation_id: str) -> None:
        path = f"/api/v1/reservations/{reservation_id}/confirm"
        response = await _call(self._client, "POST", path)
        if response.status_code == 200:
            return
        if response.status_code == 409 and _error(response).get("code") == "reservation_not_held":
            raise Rejected(
                "the stock held for this order expired before payment completed",
                "reservation_not_held",
            )
        raise _unexpected("product", response)

    async def release(self, reservation_id: str) -> str:
        """Release a hold; returns "released", or "confirmed" when it can no longer be."""
        path = f"/api/v1/reservations/{reservation_id}/release"
        response = await _call(self._client, "POST", path)
        if response.status_code == 200:
            return "released"
        if response.status_code == 409 and _error(response).get("code") == "reservation_confirmed":
            return "confirmed"
        raise _unexpected("product", response)

    async def restock(self, reservation_id: str) -> None:
        path = f"/api/v1/reservations/{reservation_id}/restock"
        response = await _call(self._client, "POST", path)
        if response.status_code != 200:
            raise _unexpected("product", response)


class CouponPeer:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def redeem(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await _call(self._client, "POST", "/api/v1/coupons/redeem", json=body)
        if response.status_code == 200:
            redemption: dict[str, Any] = response.json()
            return redemption
        error = _error(response)
        definite = response.status_code in (400, 404, 422) or error.get("code") == "coupon_rejected"
        if definite:
            reason = error.get("message") or "the coupon cannot be used"
            raise Rejected(f"coupon {body['code']}: {reason}", "coupon_rejected")
        raise _unexpected("coupon", response)

    async def release(self, order_id: str) -> None:
        body = {"order_id": order_id}
        response = await _call(self._client, "POST", "/api/v1/coupons/release", json=body)
        if response.status_code != 200:
            raise _unexpected("coupon", response)


DECLINES = {
    "insufficient_funds": "your card was declined: insufficient funds",
    "stolen_card": "your card was declined",
    "expired_card": "your card has expired",
    "card_declined": "your card was declined",
}


class PaymentPeer:
    """The card processor, called with the merchant's secret key (it answers nobody else)."""

    def __init__(self, client: ServiceClient, deadline: float | None, secret_key: str) -> None:
        self._client = client
        self._options: dict[str, Any] = {"headers": {"Authorization": f"Bearer {secret_key}"}}
        if deadline is not None:
            self._options["deadline"] = deadline

    async def charge(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await _call(self._client, "POST", "/api/v1/charges", json=body, **self._options)
        if response.status_code in (200, 201):
            charge: dict[str, Any] = response.json()
            return charge
        error = _error(response)
        if response.status_code == 402:
            details = error.get("details") or [{}]
            raise Rejected(
                DECLINES.get(details[0].get("decline_code", ""), DECLINES["card_declined"]),
                "card_declined",
            )
        if response.status_code in (400, 409, 422):
            raise Rejected(
                "the payment was refused: " + error.get("message", ""), "payment_refused"
            )
        raise _unexpected("payment", response)

    async def find(self, idempotency_key: str) -> dict[str, Any] | None:
        """The charge made (or declined) under this key, or None when there is none."""
        response = await _call(
            self._client,
            "GET",
            "/api/v1/charges",
            params={"idempotency_key": idempotency_key},
            **self._options,
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unexpected("payment", response)
        charge: dict[str, Any] = response.json()
        return charge

    async def void(self, idempotency_key: str) -> dict[str, Any]:
        """Close the key: the charge made under it, or a void that no late charge gets past.

        Whoever decides "nothing was charged" without having heard the charge's answer asks
        this, never `find`: a charge sent by a process that died may still be on its way.
        """
        response = await _call(
            self._client,
            "POST",
            "/api/v1/charges/voids",
            json={"idempotency_key": idempotency_key},
            **self._options,
        )
        if response.status_code != 200:
            raise _unexpected("payment", response)
        charge: dict[str, Any] = response.json()
        return charge

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        """Refund what is left of the charge; one already fully refunded counts as done."""
        response = await _call(
            self._client,
            "POST",
            f"/api/v1/charges/{charge_id}/refunds",
            json={"idempotency_key": idempotency_key, "amount": None},
            **self._options,
        )
        if response.status_code in (200, 201, 409):
            return
        raise _unexpected("payment", response)
