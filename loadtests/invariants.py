"""The checkout's invariants after a run: stock conserved, money adds up, coupon limits held,
no saga left unfinished. Pure: evaluated on a `Snapshot`, however it was read."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

FINAL_SAGAS = frozenset({"COMPLETED", "COMPENSATED"})
MAX_LISTED = 20


class ProductState(BaseModel):
    id: str
    sku: str = ""
    stock_before: int
    stock: int
    reserved: int = 0
    available: int | None = Field(
        default=None, description="What the shop sells; None when not read"
    )
    holds: int = Field(default=0, description="Reservation holds still recorded on the product")
    admin_delta: int = Field(
        default=0, description="Stock added (or written off) by admins in the run"
    )


class Line(BaseModel):
    product_id: str
    quantity: int
    unit_price: int


class OrderState(BaseModel):
    id: str
    status: str
    lines: list[Line] = []
    subtotal: int = 0
    discount: int = 0
    total: int = 0
    coupon_code: str | None = None
    payment_id: str | None = None


class ChargeState(BaseModel):
    id: str
    status: str
    amount: int
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.amount - self.refunded if self.status == "SUCCEEDED" else 0


class CouponState(BaseModel):
    code: str
    redeemed: int
    max_redemptions: int | None = None
    max_per_customer: int | None = None
    per_customer: dict[str, int] = {}


class SagaState(BaseModel):
    id: str
    status: str
    order_id: str = ""


class Snapshot(BaseModel):
    products: list[ProductState] = []
    orders: list[OrderState] = []
    charges: list[ChargeState] = []
    coupons: list[CouponState] = []
    sagas: list[SagaState] = []


class Check(BaseModel):
    name: str
    passed: bool
    checked: int
    violations: list[str] = []


class InvariantReport(BaseModel):
    passed: bool
    checks: list[Check]
    totals: dict[str, Any] = {}
    checked_through: str = Field(default="stores", description="stores, or api from outside")
    not_checked: dict[str, str] = Field(default={}, description="Check name: why it was not run")


def _check(name: str, checked: int, violations: list[str]) -> Check:
    return Check(
        name=name, passed=not violations, checked=checked, violations=violations[:MAX_LISTED]
    )


def _confirmed(snapshot: Snapshot) -> list[OrderState]:
    return [o for o in snapshot.orders if o.status == "CONFIRMED"]


def stock_conservation(snapshot: Snapshot) -> Check:
    """Every unit is on the shelf or in a confirmed order; no hold outlives its checkout."""
    sold: Counter[str] = Counter()
    for order in _confirmed(snapshot):
        for line in order.lines:
            sold[line.product_id] += line.quantity
    problems = []
    for p in snapshot.products:
        label = p.sku or p.id
        if p.stock_before + p.admin_delta != p.stock + sold[p.id]:
            problems.append(
                f"{label}: {p.stock_before} before + {p.admin_delta} restocked != "
                f"{p.stock} on the shelf + {sold[p.id]} sold"
            )
        if p.stock < 0 or p.reserved < 0:
            problems.append(f"{label}: negative stock {p.stock} or reserved {p.reserved}")
        if p.reserved != 0 or p.holds:
            problems.append(
                f"{label}: {p.reserved} units in {p.holds} holds still held after every "
                "checkout ended"
            )
        if p.available is not None and p.available != p.stock - p.reserved:
            problems.append(
                f"{label}: {p.available} available != {p.stock} stock - {p.reserved} reserved"
            )
    return _check("stock conservation", len(snapshot.products), problems)


def _mispriced(orders: list[OrderState]) -> list[str]:
    problems = []
    for order in orders:
        subtotal = sum(line.quantity * line.unit_price for line in order.lines)
        if order.subtotal != subtotal or order.total != max(0, subtotal - order.discount):
            problems.append(
                f"order {order.id}: subtotal {order.subtotal} / total {order.total} do not "
                f"follow from its lines ({subtotal}) and discount {order.discount}"
            )
    return problems


def order_pricing(snapshot: Snapshot) -> Check:
    """Confirmed orders are priced from their lines and discount (the part of `money` that
    needs no payment records)."""
    return _check("order pricing", len(snapshot.orders), _mispriced(_confirmed(snapshot)))


def money(snapshot: Snapshot) -> Check:
    """Confirmed orders are priced right and paid exactly; nothing else keeps money."""
    charges = {c.id: c for c in snapshot.charges}
    confirmed = _confirmed(snapshot)
    problems = _mispriced(confirmed)
    for order in confirmed:
        charge = charges.get(order.payment_id or "")
        paid = charge.net if charge else 0
        if order.total and paid != order.total:
            problems.append(f"order {order.id}: total {order.total} but {paid} kept by payment")
    kept = sum(c.net for c in snapshot.charges)
    owed = sum(o.total for o in confirmed)
    if kept != owed:
        problems.append(f"payments keep {kept} but confirmed orders total {owed}")
    return _check("money", len(snapshot.orders) + len(snapshot.charges), problems)


def coupon_limits(snapshot: Snapshot) -> Check:
    """No coupon is used more often than it allows, overall or per customer."""
    used: Counter[str] = Counter(
        (o.coupon_code or "").upper() for o in _confirmed(snapshot) if o.coupon_code
    )
    problems = []
    for c in snapshot.coupons:
        code = c.code.upper()
        if c.max_redemptions is not None and c.redeemed > c.max_redemptions:
            problems.append(f"{code}: redeemed {c.redeemed} > limit {c.max_redemptions}")
        if c.max_per_customer is not None:
            over = {k: v for k, v in c.per_customer.items() if v > c.max_per_customer}
            if over:
                problems.append(f"{code}: over {c.max_per_customer} per customer for {over}")
        if c.redeemed != used[code]:
            problems.append(f"{code}: counts {c.redeemed} redeemed, {used[code]} orders used it")
    return _check("coupon limits", len(snapshot.coupons), problems)


def sagas_finished(snapshot: Snapshot) -> Check:
    """Every checkout ended: completed or compensated, and no order left pending."""
    by_status: dict[str, list[str]] = defaultdict(list)
    for saga in snapshot.sagas:
        if saga.status not in FINAL_SAGAS:
            by_status[saga.status].append(saga.id)
    problems = [f"{len(ids)} sagas {status}: {ids[:5]}" for status, ids in by_status.items()]
    pending = [o.id for o in snapshot.orders if o.status == "PENDING"]
    if pending:
        problems.append(f"{len(pending)} orders PENDING: {pending[:5]}")
    return _check("no unfinished sagas", len(snapshot.sagas), problems)


CHECKS = (stock_conservation, money, coupon_limits, sagas_finished)


def evaluate(
    snapshot: Snapshot, checks_run: Sequence[Callable[[Snapshot], Check]] = CHECKS
) -> InvariantReport:
    checks = [check(snapshot) for check in checks_run]
    statuses = Counter(o.status for o in snapshot.orders)
    totals = {
        "orders": dict(statuses),
        "units_sold": sum(line.quantity for o in _confirmed(snapshot) for line in o.lines),
        "revenue_minor": sum(o.total for o in _confirmed(snapshot)),
        "coupons_redeemed": {c.code: c.redeemed for c in snapshot.coupons if c.redeemed},
    }
    return InvariantReport(passed=all(c.passed for c in checks), checks=checks, totals=totals)
