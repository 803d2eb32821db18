"""The events and live notices services send each other: their names and payloads, once.

Producers build these payloads. Consumers take the names from here but read only the fields
their message pacts say they need: validating a whole payload would make a consumer refuse
events its contract allows, and tie it to fields it never uses.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from estore.kit.money import Money


class Payload(BaseModel):
    """An event's data (or a live notice's); `NAME` is its stream or channel."""

    model_config = ConfigDict(populate_by_name=True)

    NAME: ClassVar[str]

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class OrderLine(BaseModel):
    product_id: str
    quantity: int
    unit_price: Money


class OrderCreated(Payload):
    NAME: ClassVar[str] = "order:created"

    order_id: str
    customer_id: str
    items: list[OrderLine]
    total: Money
    coupon_code: str | None


class OrderConfirmed(OrderCreated):
    NAME: ClassVar[str] = "order:confirmed"

    confirmed_at: str  # ISO-8601, as datetime.isoformat writes it


class OrderCancelled(Payload):
    NAME: ClassVar[str] = "order:cancelled"

    order_id: str
    customer_id: str
    reason: str | None
    items: list[OrderLine]


class UserRegistered(Payload):
    """Version 1 of `user:registered`: enough for a welcome coupon and a greeting."""

    NAME: ClassVar[str] = "user:registered"

    user_id: str = Field(serialization_alias="userId")
    email: str
    name: str
    registered_at: str = Field(serialization_alias="registeredAt")  # ISO-8601


class OrderStatusNotice(Payload):
    """A live (pub/sub, not durable) change of an order's status, for subscriptions."""

    NAME: ClassVar[str] = "order:status"

    order_id: str
    customer_id: str
    status: str
    reason: str | None
    at: str  # ISO-8601
