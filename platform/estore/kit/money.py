"""Money: integer minor units with an ISO 4217 currency, never floats; and its GraphQL type."""

from __future__ import annotations

from typing import Annotated, Self

import strawberry
from pydantic import BaseModel, ConfigDict, Field

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Annotated[int, Field(ge=0, description="Minor units: cents for EUR and USD")]
    currency: Currency

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=max(0, self.amount - other.amount), currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)

    def percent(self, percent: int) -> Money:
        """`percent`% of this amount, rounded half down to a whole minor unit."""
        return Money(amount=self.amount * percent // 100, currency=self.currency)

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(amount=0, currency=currency)

    def formatted(self) -> str:
        return f"{self.amount // 100}.{self.amount % 100:02d} {self.currency}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")


@strawberry.federation.type(name="Money", shareable=True)
class MoneyType:
    """The same value type in every subgraph, so it is shareable across them."""

    amount: int = strawberry.field(description="Minor units (cents)")
    currency: str
    formatted: str

    @classmethod
    def of(cls, money: Money) -> MoneyType:
        return cls(amount=money.amount, currency=money.currency, formatted=money.formatted())
