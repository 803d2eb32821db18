"""Events the order service publishes: order:created, order:confirmed, order:cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from estore.services.order.models import Order

ORDER_CREATED = "order:created"
ORDER_CONFIRMED = "order:confirmed"
ORDER_CANCELLED = "order:cancelled"


def _items(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "product_id": item.product_id,
            "quantity": item.quantity,
            "unit_price": item.unit_price.model_dump(),
        }
        for item in order.items
    ]


def order_created(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "items": _items(order),
        "total": order.total.model_dump(),
        "coupon_code": order.coupon_code,
    }


def order_confirmed(order: Order) -> dict[str, Any]:
    assert order.confirmed_at is not None
    return {**order_created(order), "confirmed_at": order.confirmed_at.isoformat()}


def order_cancelled(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "reason": order.cancel_reason,
        "items": _items(order),
    }


ORDER_STATUS_CHANNEL = "order:status"


def order_status(order: Order, at: datetime) -> dict[str, Any]:
    """A live status notice (pub/sub, not durable) for subscriptions."""
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "status": order.status.value,
        "reason": order.failure_reason or order.cancel_reason,
        "at": at.isoformat(),
    }
