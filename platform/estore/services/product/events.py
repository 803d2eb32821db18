"""Events the product service consumes: a confirmed order adds to sold, a cancelled one takes back.

Stock moves with reservations, never here.
"""

from __future__ import annotations

from estore.kit.events import Event, EventBus
from estore.kit.events.catalog import OrderCancelled, OrderConfirmed
from estore.services.product.service import ProductService


def subscribe(bus: EventBus, service: ProductService) -> None:
    async def on_order_confirmed(event: Event) -> None:
        # Stock already left with the reservation's confirm; counting it again here was the
        # original design's double decrement. Only popularity is kept from this event.
        await service.record_sale(str(event.data["order_id"]), list(event.data["items"]))

    async def on_order_cancelled(event: Event) -> None:
        # Popularity counts what customers kept: ordering and cancelling must not climb it.
        await service.reverse_sale(str(event.data["order_id"]))

    bus.subscribe(OrderConfirmed.NAME, on_order_confirmed)
    bus.subscribe(OrderCancelled.NAME, on_order_cancelled)
