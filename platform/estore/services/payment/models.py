"""Payment documents and inputs: charges, refunds, test cards and the chaos dials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from estore.kit.money import Currency
from estore.kit.views import View

IdempotencyKey = Annotated[str, Field(min_length=1, max_length=200)]


class ChargeStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    # The key was closed before any charge was made under it: a charge that arrives later
    # under that key (sent by a caller that died) is refused, so nothing is ever taken.
    VOIDED = "VOIDED"


class DeclineCode(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    STOLEN_CARD = "stolen_card"
    CARD_DECLINED = "card_declined"
    EXPIRED_CARD = "expired_card"


# The public processors' test numbers; every other Luhn-valid number succeeds.
TEST_CARDS: dict[str, DeclineCode] = {
    "4000000000009995": DeclineCode.INSUFFICIENT_FUNDS,
    "4000000000009979": DeclineCode.STOLEN_CARD,
    "4000000000000002": DeclineCode.CARD_DECLINED,
    "4000000000000069": DeclineCode.EXPIRED_CARD,
}


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class ChargeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: IdempotencyKey
    amount: Annotated[int, Field(gt=0, le=100_000_000, description="Minor units")]
    currency: Currency
    card_number: Annotated[str, Field(pattern=r"^\d{12,19}$")]
    customer_id: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str | None, Field(max_length=500)] = None

    @field_validator("card_number")
    @classmethod
    def _luhn(cls, value: str) -> str:
        if not luhn_valid(value):
            raise ValueError("is not a valid card number (Luhn check failed)")
        return value


class Charge(BaseModel):
    """One attempt to charge a card, declined ones included; the card itself is never kept."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    idempotency_key: str
    status: ChargeStatus
    amount: int
    currency: str
    refunded: int = 0
    customer_id: str
    card_last4: str
    description: str | None = None
    decline_code: DeclineCode | None = None
    created_at: datetime

    @classmethod
    def void(cls, id: str, idempotency_key: str, at: datetime) -> Charge:
        """The tombstone of a key closed unused: no amount, no card, no customer."""
        return cls(
            _id=id,
            idempotency_key=idempotency_key,
            status=ChargeStatus.VOIDED,
            amount=0,
            currency="",
            customer_id="",
            card_last4="",
            created_at=at,
        )

    def same_request(self, request: ChargeRequest) -> bool:
        """Whether a replayed key asks for what was recorded under it."""
        return (
            self.amount == request.amount
            and self.currency == request.currency
            and self.customer_id == request.customer_id
            and self.card_last4 == request.card_number[-4:]
        )


class ChargeView(View):
    """A charge as the contract shows it."""

    id: str
    idempotency_key: str
    status: ChargeStatus
    amount: int
    currency: str
    refunded: int
    customer_id: str
    card_last4: str
    description: str | None
    decline_code: DeclineCode | None
    created_at: datetime


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: IdempotencyKey


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    idempotency_key: IdempotencyKey
    amount: Annotated[int | None, Field(gt=0, description="Minor units; null refunds the rest")] = (
        None
    )


class Refund(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    idempotency_key: str
    charge_id: str
    amount: int
    currency: str
    created_at: datetime


class RefundView(View):
    id: str
    charge_id: str
    amount: int
    currency: str
    created_at: datetime


Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class Behaviour(BaseModel):
    """The chaos dials: how slow, how often it hangs after charging, how often it declines."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    timeout_rate: Rate = 0.0
    decline_rate: Rate = 0.0
    seed: int = 0


class BehaviourChange(BaseModel):
    """Dials to change; the ones left out keep their value. A seed restarts the random draws."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int | None, Field(ge=0, le=600_000)] = None
    timeout_rate: Rate | None = None
    decline_rate: Rate | None = None
    seed: int | None = None
