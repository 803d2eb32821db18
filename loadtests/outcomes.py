"""Checkout outcomes: how a finished order reads to the business (confirmed, out of stock, ...)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    OUT_OF_STOCK = "out of stock"
    DECLINED = "declined"
    COMPENSATED = "compensated"
    UNFINISHED = "unfinished"


# GraphQL's Order carries no failure code, only `failureReason`: the words the order service's
# checkout uses for a shortage and for a card decline. A bare "stock" would not do: "the stock
# held for this order expired" is a compensation, not a shortage.
_STOCK_WORDS = ("not enough stock", "out of stock", "sold out")
_DECLINE_WORDS = ("card was declined", "card has expired", "payment was refused")


def classify(order: dict[str, Any]) -> Outcome:
    """The outcome of one order as the checkout returned it (GraphQL or REST field names)."""
    status = str(order.get("status", "")).upper()
    if status == "CONFIRMED":
        return Outcome.CONFIRMED
    if status != "FAILED":
        return Outcome.UNFINISHED
    reason = str(order.get("failureReason") or order.get("failure_reason") or "").lower()
    if any(word in reason for word in _STOCK_WORDS):
        return Outcome.OUT_OF_STOCK
    if any(word in reason for word in _DECLINE_WORDS):
        return Outcome.DECLINED
    return Outcome.COMPENSATED
