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


# The order service explains a FAILED order in words for the customer; these are the words
# its checkout uses for a shortage and for a card decline.
_STOCK_WORDS = ("stock", "sold out")
_DECLINE_WORDS = ("declined", "card has expired", "payment was refused")


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
