"""Events the product service consumes: confirmed orders feed the sold count (never stock)."""

from __future__ import annotations

from estore.kit.events import Event, EventBus
from estore.services.product.service import ProductService

ORDER_CONFIRMED = "order:confirmed"


def subscribe(bus: EventBus, service: ProductService) -> None:
    async def on_order_confirmed(event: Event) -> None:
        # Stock already left with the reservation's confirm; counting it again here was the
        # original design's double decrement. Only popularity is kept from this event.
        await service.record_sale(str(event.data["order_id"]), list(event.data["items"]))

    bus.subscribe(ORDER_CONFIRMED, on_order_confirmed)
