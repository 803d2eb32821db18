"""Events the order service publishes: order:created, order:confirmed, order:cancelled, and
the live order:status notice."""

from __future__ import annotations

from datetime import datetime

from estore.kit.events.catalog import (
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderLine,
    OrderStatusNotice,
)
from estore.services.order.models import Order


def _lines(order: Order) -> list[OrderLine]:
    return [
        OrderLine(product_id=item.product_id, quantity=item.quantity, unit_price=item.unit_price)
        for item in order.items
    ]


def order_created(order: Order) -> OrderCreated:
    return OrderCreated(
        order_id=order.id,
        customer_id=order.customer_id,
        items=_lines(order),
        total=order.total,
        coupon_code=order.coupon_code,
    )


def order_confirmed(order: Order) -> OrderConfirmed:
    assert order.confirmed_at is not None
    return OrderConfirmed(**dict(order_created(order)), confirmed_at=order.confirmed_at.isoformat())


def order_cancelled(order: Order) -> OrderCancelled:
    return OrderCancelled(
        order_id=order.id,
        customer_id=order.customer_id,
        reason=order.cancel_reason,
        items=_lines(order),
    )


def order_status(order: Order, at: datetime) -> OrderStatusNotice:
    return OrderStatusNotice(
        order_id=order.id,
        customer_id=order.customer_id,
        status=order.status.value,
        reason=order.failure_reason or order.cancel_reason,
        at=at.isoformat(),
    )
