"""The checkout invariants judged on synthetic snapshots: a clean sale, then each kind of leak."""

from __future__ import annotations

from loadtests.invariants import (
    ChargeState,
    CouponState,
    Line,
    OrderState,
    ProductState,
    SagaState,
    Snapshot,
    evaluate,
)


def clean_sale() -> Snapshot:
    """Two confirmed orders (one with a 10% coupon), one compensated after a decline."""
    return Snapshot(
        products=[
            ProductState(id="tv", sku="TV", stock_before=5, stock=2, available=2, admin_delta=0),
            ProductState(id="ear", sku="EAR", stock_before=10, stock=13, admin_delta=4),
        ],
        orders=[
            OrderState(
                id="o1",
                status="CONFIRMED",
                lines=[Line(product_id="tv", quantity=2, unit_price=1000)],
                subtotal=2000,
                discount=200,
                total=1800,
                coupon_code="flash10",
                payment_id="c1",
            ),
            OrderState(
                id="o2",
                status="CONFIRMED",
                lines=[
                    Line(product_id="tv", quantity=1, unit_price=1000),
                    Line(product_id="ear", quantity=1, unit_price=500),
                ],
                subtotal=1500,
                total=1500,
                payment_id="c2",
            ),
            OrderState(id="o3", status="FAILED", subtotal=1000, total=1000),
        ],
        charges=[
            ChargeState(id="c1", status="SUCCEEDED", amount=1800),
            ChargeState(id="c2", status="SUCCEEDED", amount=1500),
            ChargeState(id="c3", status="DECLINED", amount=1000),
            ChargeState(id="c4", status="SUCCEEDED", amount=700, refunded=700),
        ],
        coupons=[
            CouponState(
                code="FLASH10",
                redeemed=1,
                max_redemptions=1,
                max_per_customer=1,
                per_customer={"u1": 1},
            )
        ],
        sagas=[
            SagaState(id="s1", status="COMPLETED"),
            SagaState(id="s2", status="COMPLETED"),
            SagaState(id="s3", status="COMPENSATED"),
        ],
    )


def failed_checks(snapshot: Snapshot) -> dict[str, list[str]]:
    report = evaluate(snapshot)
    return {c.name: c.violations for c in report.checks if not c.passed}


def test_a_clean_sale_passes_every_invariant() -> None:
    report = evaluate(clean_sale())
    assert report.passed, report
    assert report.totals["units_sold"] == 4
    assert report.totals["revenue_minor"] == 3300


def test_a_unit_that_vanished_breaks_stock_conservation() -> None:
    snapshot = clean_sale()
    snapshot.products[0].stock = 1
    assert list(failed_checks(snapshot)) == ["stock conservation"]


def test_a_hold_left_behind_breaks_stock_conservation() -> None:
    snapshot = clean_sale()
    snapshot.products[1].reserved = 2
    assert "still held" in failed_checks(snapshot)["stock conservation"][0]


def test_a_hold_recorded_on_a_product_breaks_stock_conservation_even_at_zero_reserved() -> None:
    snapshot = clean_sale()
    snapshot.products[0].holds = 1
    assert "in 1 holds still held" in failed_checks(snapshot)["stock conservation"][0]


def test_available_out_of_step_with_stock_and_reserved_breaks_stock_conservation() -> None:
    snapshot = clean_sale()
    snapshot.products[0].available = 3
    assert failed_checks(snapshot)["stock conservation"] == [
        "TV: 3 available != 2 stock - 0 reserved"
    ]


def test_a_charge_kept_for_a_failed_order_breaks_the_money_check() -> None:
    snapshot = clean_sale()
    snapshot.charges[3] = ChargeState(id="c4", status="SUCCEEDED", amount=700, refunded=0)
    assert failed_checks(snapshot)["money"] == [
        "payments keep 4000 but confirmed orders total 3300"
    ]


def test_an_order_whose_total_ignores_its_lines_breaks_the_money_check() -> None:
    snapshot = clean_sale()
    snapshot.orders[1].subtotal = 1400
    assert "do not follow from its lines" in failed_checks(snapshot)["money"][0]


def test_a_coupon_redeemed_past_its_limit_is_reported() -> None:
    snapshot = clean_sale()
    snapshot.coupons[0] = CouponState(code="FLASH10", redeemed=2, max_redemptions=1)
    problems = failed_checks(snapshot)["coupon limits"]
    assert problems[0] == "FLASH10: redeemed 2 > limit 1"


def test_a_customer_over_the_per_customer_limit_is_reported() -> None:
    snapshot = clean_sale()
    snapshot.coupons[0].per_customer["u1"] = 2
    assert "per customer" in failed_checks(snapshot)["coupon limits"][0]


def test_a_saga_still_running_and_a_pending_order_are_reported() -> None:
    snapshot = clean_sale()
    snapshot.sagas.append(SagaState(id="s4", status="COMPENSATING"))
    snapshot.orders.append(OrderState(id="o4", status="PENDING"))
    assert failed_checks(snapshot)["no unfinished sagas"] == [
        "1 sagas COMPENSATING: ['s4']",
        "1 orders PENDING: ['o4']",
    ]
