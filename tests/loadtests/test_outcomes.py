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
