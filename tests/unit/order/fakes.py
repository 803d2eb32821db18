"""Contract fakes of product, coupon and payment for the saga's unit tests, and their wiring.

Each fake is a small FastAPI app that speaks exactly the agreed REST contract (status codes,
error codes, idempotency) and keeps its state in plain dicts, so tests assert outcomes:
stock held and sold, redemptions counted, money charged and refunded. The order service is
wired to them through real `ServiceClient`s over `InProcessTransport`, so deadlines,
retries, breakers and kit faults act exactly as in the cluster.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

HELD, CONFIRMED, RELEASED, EXPIRED, RESTOCKED = (
    "HELD",
    "CONFIRMED",
    "RELEASED",
    "EXPIRED",
    "RESTOCKED",
)
DECLINES = {
    "4000000000009995": "insufficient_funds",
    "4000000000009979": "stolen_card",
    "4000000000000002": "card_declined",
    "4000000000000069": "expired_card",
}


def _error(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return JSONResponse(body, status_code=status)


def _money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


@dataclass
class FakeProducts:
    """Products with stock and holds; `sold` counts confirmed units not restocked."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)

    def add(self, product_id: str, stock: int, price: int, category: str = "c1") -> None:
        self.products[product_id] = {
            "id": product_id,
            "name": f"Product {product_id}",
            "sku": f"SKU-{product_id}",
            "price": price,
            "stock": stock,
            "reserved": 0,
            "sold": 0,
            "category_id": category,
        }

    def available(self, product_id: str) -> int:
        p = self.products[product_id]
        return int(p["stock"] - p["reserved"])

    def expire(self, reservation_id: str) -> None:
        reservation = self.reservations[reservation_id]
        assert reservation["status"] == HELD
        self._unhold(reservation)
        reservation["status"] = EXPIRED

    def _unhold(self, reservation: dict[str, Any]) -> None:
        for item in reservation["items"]:
            self.products[item["product_id"]]["reserved"] -= item["quantity"]

    def reserve(self, body: dict[str, Any]) -> JSONResponse:
        key = body["reservation_key"]
        if key in self.by_key:
            return JSONResponse(self.reservations[self.by_key[key]], status_code=200)
        lines = body["items"]
        for line in lines:
            if line["product_id"] not in self.products:
                return _error(404, "not_found", f"product {line['product_id']} does not exist")
        short = [
            {
                "product_id": line["product_id"],
                "requested": line["quantity"],
                "available": self.available(line["product_id"]),
            }
            for line in lines
            if self.available(line["product_id"]) < line["quantity"]
        ]
        if short:
            return _error(409, "out_of_stock", "not enough stock", short)
        items = []
        for line in lines:
            product = self.products[line["product_id"]]
            product["reserved"] += line["quantity"]
            items.append(
                {
                    "product_id": product["id"],
                    "sku": product["sku"],
                    "name": product["name"],
                    "quantity": line["quantity"],
                    "unit_price": {
                        "amount": product["price"],
                        "currency": product.get("currency", "EUR"),
                    },
                    "category_id": product["category_id"],
                }
            )
        reservation = {
            "id": uuid.uuid4().hex,
            "reservation_key": key,
            "status": HELD,
            "items": items,
            "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat(),
        }
        self.reservations[reservation["id"]] = reservation
        self.by_key[key] = reservation["id"]
        return JSONResponse(reservation, status_code=201)

    def transition(self, reservation_id: str, action: str) -> JSONResponse:
        reservation = self.reservations.get(reservation_id)
        if reservation is None:
            return _error(404, "not_found", "no such reservation")
        status = reservation["status"]
        if action == "confirm":
            if status in (RELEASED, EXPIRED):
                return _error(409, "reservation_not_held", f"reservation is {status}")
            if status == HELD:
                for item in reservation["items"]:
                    product = self.products[item["product_id"]]
                    product["stock"] -= item["quantity"]
                    product["reserved"] -= item["quantity"]
                    product["sold"] += item["quantity"]
                reservation["status"] = CONFIRMED
        elif action == "release":
            if status in (CONFIRMED, RESTOCKED):
                return _error(409, "reservation_confirmed", "reservation is confirmed")
            if status == HELD:
                self._unhold(reservation)
                reservation["status"] = RELEASED
        elif action == "restock":
            if status in (HELD, RELEASED, EXPIRED):
                return _error(409, "reservation_not_confirmed", f"reservation is {status}")
            if status == CONFIRMED:
                for item in reservation["items"]:
                    product = self.products[item["product_id"]]
                    product["stock"] += item["quantity"]
                    product["sold"] -= item["quantity"]
                reservation["status"] = RESTOCKED
        return JSONResponse(reservation, status_code=200)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/reservations")
        async def reserve(request: Request) -> JSONResponse:
            return self.reserve(await request.json())

        @app.get("/api/v1/reservations/{reservation_id}")
        async def get(reservation_id: str) -> JSONResponse:
            if reservation_id not in self.reservations:
                return _error(404, "not_found", "no such reservation")
            return JSONResponse(self.reservations[reservation_id])

        @app.post("/api/v1/reservations/{reservation_id}/{action}")
        async def act(reservation_id: str, action: str) -> JSONResponse:
            return self.transition(reservation_id, action)

        return app


@dataclass
class FakeCoupons:
    """Percent-off coupons with a total redemption limit; redemptions keyed by order id."""

    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    redemptions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, code: str, percent: int, limit: int) -> None:
        self.coupons[code.upper()] = {"percent": percent, "limit": limit}

    def count(self, code: str) -> int:
        return sum(1 for r in self.redemptions.values() if r["code"] == code.upper())

    def redeem(self, body: dict[str, Any]) -> JSONResponse:
        order_id = body["order_id"]
        if order_id in self.redemptions:
            return JSONResponse(self.redemptions[order_id])
        code = body["code"].upper()
        coupon = self.coupons.get(code)
        if coupon is None:
            return _error(409, "coupon_rejected", "unknown coupon")
        if self.count(code) >= coupon["limit"]:
            return _error(409, "coupon_rejected", "limit reached")
        subtotal = sum(i["unit_price"]["amount"] * i["quantity"] for i in body["items"])
        redemption = {
            "redemption_id": uuid.uuid4().hex,
            "code": code,
            "order_id": order_id,
            "discount": _money(subtotal * coupon["percent"] // 100),
        }
        self.redemptions[order_id] = redemption
        return JSONResponse(redemption)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/coupons/redeem")
        async def redeem(request: Request) -> JSONResponse:
            return self.redeem(await request.json())

        @app.post("/api/v1/coupons/release")
        async def release(request: Request) -> JSONResponse:
            order_id = (await request.json())["order_id"]
            released = self.redemptions.pop(order_id, None) is not None
            return JSONResponse({"order_id": order_id, "released": released})

        return app


@dataclass
class FakePayments:
    """The card processor: charges by idempotency key, refunds, and a hang-after-charge dial."""

    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout_rate: float = 0.0
    hang_next: int = 0
    refused_as_voided: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def charged(self) -> int:
        return sum(c["amount"] for c in self.charges.values() if c["status"] == "SUCCEEDED")

    def refunded(self) -> int:
        return sum(c["refunded"] for c in self.charges.values())

    async def charge(self, body: dict[str, Any]) -> JSONResponse:
        key = body["idempotency_key"]
        existing = self.charges.get(key)
        if existing is not None:
            if existing["status"] == "VOIDED":
                self.refused_as_voided += 1
                return _error(409, "charge_voided", "this key was voided; nothing was charged")
            if existing["amount"] != body["amount"]:
                return _error(409, "idempotency_mismatch", "different amount for this key")
            return self._answer(existing, 200)
        decline = DECLINES.get(body["card_number"])
        charge = {
            "id": uuid.uuid4().hex,
            "idempotency_key": key,
            "status": "DECLINED" if decline else "SUCCEEDED",
            "decline_code": decline,
            "amount": body["amount"],
            "currency": body["currency"],
            "refunded": 0,
            "created_at": datetime.now(UTC).isoformat(),
        }
        self.charges[key] = charge
        if self.hang_next or (self.timeout_rate and self.rng.random() < self.timeout_rate):
            self.hang_next = max(0, self.hang_next - 1)
            # Charged, then silent: the caller's deadline ends the wait (the ambiguous case).
            await asyncio.get_running_loop().create_future()
        return self._answer(charge, 201)

    def void(self, key: str) -> JSONResponse:
        """The charge under `key`, or a void that refuses any charge sent under it later."""
        tombstone = {"id": uuid.uuid4().hex, "idempotency_key": key, "status": "VOIDED"}
        return JSONResponse(
            self.charges.setdefault(key, tombstone | {"amount": 0, "currency": "", "refunded": 0})
        )

    def _answer(self, charge: dict[str, Any], status: int) -> JSONResponse:
        if charge["status"] == "DECLINED":
            details = [{"decline_code": charge["decline_code"]}]
            return _error(402, "card_declined", "card declined", details)
        return JSONResponse(charge, status_code=status)

    def refund(self, charge_id: str, body: dict[str, Any]) -> JSONResponse:
        if body["idempotency_key"] in self.refunds:
            return JSONResponse(self.refunds[body["idempotency_key"]], status_code=201)
        charge = next((c for c in self.charges.values() if c["id"] == charge_id), None)
        if charge is None:
            return _error(404, "not_found", "no such charge")
        left = charge["amount"] - charge["refunded"]
        amount = left if body.get("amount") is None else body["amount"]
        if amount > left or amount <= 0:
            return _error(409, "conflict", "more than the unrefunded amount")
        charge["refunded"] += amount
        refund = {"id": uuid.uuid4().hex, "charge_id": charge_id, "amount": amount}
        self.refunds[body["idempotency_key"]] = refund
        return JSONResponse(refund, status_code=201)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/charges")
        async def charge(request: Request) -> JSONResponse:
            return await self.charge(await request.json())

        @app.get("/api/v1/charges")
        async def find(idempotency_key: str) -> JSONResponse:
            found = self.charges.get(idempotency_key)
            if found is None:
                return _error(404, "not_found", "no charge with this key")
            return JSONResponse(found)

        @app.post("/api/v1/charges/voids")
        async def void(request: Request) -> JSONResponse:
            return self.void((await request.json())["idempotency_key"])

        @app.post("/api/v1/charges/{charge_id}/refunds")
        async def refund(charge_id: str, request: Request) -> JSONResponse:
            return self.refund(charge_id, await request.json())

        return app


class ShiftedClock:
    """Real time that tests can move forward: deadlines really expire, windows can pass."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._start = datetime(2026, 1, 1, tzinfo=UTC)
        self._base = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        return time.monotonic() - self._base + self._offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self._offset += seconds
