"""How a checkout's answer reads as a business outcome."""

from __future__ import annotations

from loadtests.outcomes import Outcome, classify


def test_a_confirmed_order_is_confirmed() -> None:
    assert classify({"status": "CONFIRMED"}) is Outcome.CONFIRMED


def test_a_shortage_reads_as_out_of_stock() -> None:
    order = {"status": "FAILED", "failureReason": "not enough stock (product p: 2 requested)"}
    assert classify(order) is Outcome.OUT_OF_STOCK


def test_a_card_decline_reads_as_declined_in_either_field_spelling() -> None:
    order = {"status": "FAILED", "failure_reason": "your card was declined: insufficient funds"}
    assert classify(order) is Outcome.DECLINED


def test_any_other_failure_was_compensated() -> None:
    order = {"status": "FAILED", "failureReason": "coupon FLASH10: the coupon is used up"}
    assert classify(order) is Outcome.COMPENSATED


def test_a_pending_order_is_unfinished() -> None:
    assert classify({"status": "PENDING"}) is Outcome.UNFINISHED


def test_an_expired_stock_hold_is_a_compensation_not_a_shortage() -> None:
    order = {
        "status": "FAILED",
        "failureReason": "the stock held for this order expired before payment completed",
    }
    assert classify(order) is Outcome.COMPENSATED


def test_an_expired_card_and_a_refused_payment_read_as_declined() -> None:
    expired = {"status": "FAILED", "failureReason": "your card has expired"}
    refused = {"status": "FAILED", "failureReason": "the payment was refused: amount too large"}
    assert classify(expired) is Outcome.DECLINED
    assert classify(refused) is Outcome.DECLINED
