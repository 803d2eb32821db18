"""Each invariant catches the fault it exists for: plant it in a clean run's end state."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import pytest

from chaos.history import History
from chaos.invariants import FinalState, check
from chaos.run import Answer, RunResult, run
from chaos.schedule import Operation, generate


@pytest.fixture(scope="module")
def clean() -> RunResult:
    """A run whose schedule confirms and fails orders and breaks no invariant."""
    for seed in range(40):
        result = run(generate(seed))
        statuses = {o["status"] for o in result.state.orders.values()}
        if {"CONFIRMED", "FAILED"} <= statuses and not result.violations:
            return result
    raise AssertionError("no seed below 40 gives a clean run with confirmed and failed orders")


def _broken(clean: RunResult, plant: Callable[[FinalState], None]) -> set[str]:
    state = copy.deepcopy(clean.state)
    plant(state)
    found = check(clean.schedule, clean.history, clean.observed, state)
    return {v.invariant for v in found}


def _confirmed(state: FinalState) -> str:
    return next(oid for oid, o in state.orders.items() if o["status"] == "CONFIRMED")


def _failed(state: FinalState) -> str:
    return next(oid for oid, o in state.orders.items() if o["status"] == "FAILED")


def test_a_clean_run_breaks_nothing(clean: RunResult) -> None:
    assert clean.violations == []
    assert _broken(clean, lambda state: None) == set()


def test_stock_that_appears_from_nowhere_breaks_conservation(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        next(iter(state.products.values()))["available"] += 1

    assert "stock_conserved" in _broken(clean, plant)


def test_stock_still_held_once_quiet_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        product = next(iter(state.products.values()))
        product["reserved"] += 1
        product["available"] -= 1

    assert "stock_released_when_quiet" in _broken(clean, plant)


def test_negative_stock_is_an_oversell(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        next(iter(state.products.values()))["stock"] = -1

    assert "no_oversell" in _broken(clean, plant)


def test_a_second_charge_for_a_confirmed_order_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        oid = _confirmed(state)
        charge = next(c for c in state.charges if oid in c["idempotency_key"])
        state.charges.append({**charge, "_id": "double", "idempotency_key": f"order:{oid}:x"})

    assert "charged_once_if_confirmed" in _broken(clean, plant)


def test_money_kept_for_a_failed_order_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        oid = _failed(state)
        state.charges.append(
            {
                "_id": "kept",
                "idempotency_key": f"order:{oid}:charge",
                "status": "SUCCEEDED",
                "amount": 100,
                "refunded": 0,
            }
        )

    assert "charged_once_if_confirmed" in _broken(clean, plant)


def test_a_second_refund_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        charge = state.charges[0]
        state.refunds.extend(
            [{"_id": f"r{n}", "charge_id": charge["_id"], "amount": 1} for n in range(2)]
        )

    assert "refunded_at_most_once" in _broken(clean, plant)


def test_a_coupon_over_its_limit_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        coupon = next(iter(state.coupons.values()))
        coupon["redeemed"] = coupon["max_redemptions"] + 1

    assert "coupon_limits" in _broken(clean, plant)


def test_a_coupon_kept_by_a_failed_order_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        code = next(iter(state.coupons))
        redemption = {"_id": "x", "order_id": _failed(state), "status": "REDEEMED", "code": code}
        state.redemptions.append(redemption)
        state.coupons[code]["redeemed"] = state.coupons[code].get("redeemed", 0) + 1

    assert "coupon_used_only_by_confirmed_orders" in _broken(clean, plant)


def test_a_saga_left_running_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        state.sagas[0]["status"] = "RUNNING"

    assert _broken(clean, plant) == {"sagas_finished"}


def test_a_compensation_run_twice_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        state.sagas[0]["undone"] = ["refund", "refund"]

    assert _broken(clean, plant) == {"compensation_at_most_once"}


def test_two_orders_for_one_key_are_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        order = state.orders[_confirmed(state)]
        state.orders["twin"] = {**order, "_id": "twin", "status": "FAILED"}

    assert "one_order_per_idempotency_key" in _broken(clean, plant)


def test_an_order_told_confirmed_that_ended_failed_is_caught(clean: RunResult) -> None:
    told = {
        a.body["id"]
        for answers in clean.observed.answers.values()
        for a in answers
        if a.body.get("status") == "CONFIRMED"
    }

    def plant(state: FinalState) -> None:
        oid = next(o for o in sorted(told) if state.orders[o]["status"] == "CONFIRMED")
        state.orders[oid]["status"] = "FAILED"

    assert "told_matches_final" in _broken(clean, plant)


def test_a_sale_counted_twice_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        oid = _confirmed(state)
        pid = state.items[oid][0][0]
        state.products[pid]["sold"] = state.products[pid].get("sold", 0) + 1

    assert _broken(clean, plant) == {"events_applied_once"}


def test_an_event_never_relayed_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        state.unrelayed = 1

    assert _broken(clean, plant) == {"events_applied_once"}


def test_a_breaker_that_stays_closed_through_a_run_of_failures_is_caught(
    clean: RunResult,
) -> None:
    observed = dataclasses.replace(clean.observed, stuck=((3.0, "order", "payment", 1),))

    found = check(clean.schedule, clean.history, observed, clean.state)

    assert [(v.invariant, v.lines) for v in found] == [("breaker_opens", (1,))]


def test_a_call_that_never_got_an_answer_is_caught(clean: RunResult) -> None:
    history = History(lambda: 99.0)
    history.lines = list(clean.history.lines)
    line = history.add("unanswered", task=0)

    found = check(clean.schedule, history, clean.observed, clean.state)

    assert [(v.invariant, v.lines) for v in found] == [("every_call_answered", (line,))]


def _replanted(clean: RunResult, op: Operation, answer: Answer) -> set[str]:
    """The clean run with its first operation replaced by `op`, answered `answer`."""
    operations = (op, *clean.schedule.operations[1:])
    schedule = dataclasses.replace(clean.schedule, operations=operations)
    observed = dataclasses.replace(clean.observed, answers={**clean.observed.answers, 0: [answer]})
    return {v.invariant for v in check(schedule, clean.history, observed, clean.state)}


def test_a_forged_token_answered_with_data_is_caught(clean: RunResult) -> None:
    forged = Operation(at=1.0, kind="account", customer=1, forged=True)

    found = _replanted(clean, forged, Answer(200, {"data": {"me": {"id": "customer-1"}}}))

    assert "forged_tokens_refused" in found


def test_a_ticket_on_another_customers_order_is_caught(clean: RunResult) -> None:
    def plant(state: FinalState) -> None:
        order = state.orders[_confirmed(state)]
        stranger = f"not-{order['customer_id']}"
        state.tickets.append({"_id": "t1", "order_id": order["_id"], "customer_id": stranger})

    assert _broken(clean, plant) == {"tickets_for_own_orders"}


def test_a_5xx_without_an_error_code_is_caught(clean: RunResult) -> None:
    account = Operation(at=1.0, kind="account", customer=1)

    assert "errors_are_clear" in _replanted(clean, account, Answer(502, {"detail": "oops"}))
    assert _replanted(clean, account, Answer(503, {"error": {"code": "unavailable"}})) == set()
