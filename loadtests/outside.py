"""The invariants read through the public API, for a run against a cluster whose stores only
it can see (`make up`, a deployment): what an admin can read is checked, and the report names
what could not be checked from outside.

The run's own orders are the ones newer than the newest order at the start; the sale items'
stock is taken when the run starts (admins never restock sale items during the run).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadtests.api import Api
from loadtests.invariants import (
    CouponState,
    InvariantReport,
    Line,
    OrderState,
    ProductState,
    Snapshot,
    coupon_limits,
    evaluate,
    order_pricing,
    sagas_finished,
    stock_conservation,
)

PAGE = 100
MAX_ORDERS = 100_000
SETTLE_S = 15.0
NOT_CHECKED = {
    "money": "payments are not in the public API: that each confirmed order was paid exactly "
    "and nothing else kept money is checked only on the stores (python -m loadtests.run)",
    "stock holds": "reservation holds are the product service's own; from outside only "
    "available = stock - reserved shows",
    "saga records": "sagas are the order service's own; from outside only PENDING orders "
    "show",
    "everyday stock": "admins restock everyday products during the run, and stock changes are "
    "not in the public API: only the sale items' stock is conserved from outside",
}

PRODUCT = """
query SaleItem($id: ID!) { product(id: $id) { id sku stock available } }"""
ORDERS = """
query RunOrders($limit: Int!, $offset: Int!) {
  orders(limit: $limit, offset: $offset) {
    id customerId status couponCode paymentId
    items { productId quantity unitPrice { amount } }
    subtotal { amount } discount { amount } total { amount }
  }
}"""
COUPONS = """
query SaleCoupons { coupons { code redeemed maxRedemptions maxPerCustomer } }"""


@dataclass
class Baseline:
    stock: dict[str, int] = field(default_factory=dict)
    redeemed: dict[str, int] = field(default_factory=dict)
    newest_order: str | None = None


def _coupons(api: Api, codes: list[str]) -> dict[str, dict[str, Any]]:
    wanted = {c.upper() for c in codes}
    found = api.call("SaleCoupons", COUPONS)["coupons"]
    return {c["code"].upper(): c for c in found if c["code"].upper() in wanted}


def _product(api: Api, product_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.call("SaleItem", PRODUCT, {"id": product_id})["product"]
    return found


def baseline(api: Api, fixtures: dict[str, Any]) -> Baseline:
    newest = api.call("RunOrders", ORDERS, {"limit": 1, "offset": 0})["orders"]
    return Baseline(
        stock={p: int(_product(api, p)["stock"]) for p in fixtures["sale_product_ids"]},
        redeemed={
            code: int(c["redeemed"]) for code, c in _coupons(api, fixtures["coupon_codes"]).items()
        },
        newest_order=newest[0]["id"] if newest else None,
    )


def _run_orders(api: Api, before: Baseline) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    for offset in range(0, MAX_ORDERS, PAGE):
        page = api.call("RunOrders", ORDERS, {"limit": PAGE, "offset": offset})["orders"]
        for order in page:
            if order["id"] == before.newest_order:
                return orders
            orders.append(order)
        if len(page) < PAGE:
            break
    return orders


def _order_state(order: dict[str, Any]) -> OrderState:
    return OrderState(
        id=order["id"],
        status=order["status"],
        lines=[
            Line(
                product_id=i["productId"],
                quantity=i["quantity"],
                unit_price=i["unitPrice"]["amount"],
            )
            for i in order["items"]
        ],
        subtotal=order["subtotal"]["amount"],
        discount=order["discount"]["amount"],
        total=order["total"]["amount"],
        coupon_code=order["couponCode"],
        payment_id=order["paymentId"],
    )


def _coupon_states(
    api: Api, fixtures: dict[str, Any], before: Baseline, orders: list[dict[str, Any]]
) -> list[CouponState]:
    """Counted over the run: redemptions since the start against the allowance left then."""
    per_customer: dict[str, Counter[str]] = {}
    for order in orders:
        if order["status"] == "CONFIRMED" and order["couponCode"]:
            code = order["couponCode"].upper()
            per_customer.setdefault(code, Counter())[order["customerId"]] += 1
    states = []
    for code, coupon in _coupons(api, fixtures["coupon_codes"]).items():
        start = before.redeemed.get(code, 0)
        limit = coupon["maxRedemptions"]
        states.append(
            CouponState(
                code=code,
                redeemed=int(coupon["redeemed"]) - start,
                max_redemptions=None if limit is None else limit - start,
                max_per_customer=coupon["maxPerCustomer"],
                per_customer=dict(per_customer.get(code, {})),
            )
        )
    return states


def snapshot(api: Api, fixtures: dict[str, Any], before: Baseline) -> Snapshot:
    orders = _run_orders(api, before)
    products = []
    for product_id, stock_before in before.stock.items():
        now = _product(api, product_id)
        products.append(
            ProductState(
                id=product_id,
                sku=now["sku"],
                stock_before=stock_before,
                stock=now["stock"],
                reserved=now["stock"] - now["available"],
                available=now["available"],
            )
        )
    return Snapshot(
        products=products,
        orders=[_order_state(o) for o in orders],
        coupons=_coupon_states(api, fixtures, before, orders),
    )


def check(api: Api, fixtures: dict[str, Any], before: Baseline) -> InvariantReport:
    """Wait (bounded) until no order of the run is PENDING, then judge what the API shows."""
    deadline = time.monotonic() + SETTLE_S
    taken = snapshot(api, fixtures, before)
    while any(o.status == "PENDING" for o in taken.orders) and time.monotonic() < deadline:
        time.sleep(0.5)
        taken = snapshot(api, fixtures, before)
    report = evaluate(taken, (stock_conservation, order_pricing, coupon_limits, sagas_finished))
    return report.model_copy(update={"checked_through": "api", "not_checked": NOT_CHECKED})
