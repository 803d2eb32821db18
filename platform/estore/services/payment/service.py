"""Payment use cases: charge once per idempotency key, look charges up, refund, dial chaos."""

from __future__ import annotations

from datetime import datetime

from estore.kit.clock import Clock
from estore.kit.errors import Conflict, NotFound, ServiceError
from estore.kit.ids import new_id
from estore.services.payment.chaos import Chaos
from estore.services.payment.models import (
    TEST_CARDS,
    Behaviour,
    BehaviourChange,
    Charge,
    ChargeRequest,
    ChargeStatus,
    ChargeView,
    DeclineCode,
    Refund,
    RefundRequest,
    RefundView,
    VoidRequest,
)
from estore.services.payment.repository import PaymentRepository
from estore.services.payment.settings import PaymentSettings

# A refund for "the rest" recomputes the rest when a racing refund took part of it first.
REFUND_ATTEMPTS = 3


class CardDeclined(ServiceError):
    status = 402
    code = "card_declined"

    def __init__(self, charge: Charge) -> None:
        assert charge.decline_code is not None
        super().__init__(
            f"the card was declined: {charge.decline_code.value.replace('_', ' ')}",
            details=[{"decline_code": charge.decline_code.value, "charge_id": charge.id}],
        )


class ProcessorTimeout(ServiceError):
    status = 504
    code = "processor_timeout"


class IdempotencyMismatch(Conflict):
    code = "idempotency_mismatch"


class ChargeVoided(Conflict):
    code = "charge_voided"


class RefundExceedsCharge(Conflict):
    code = "refund_exceeds_charge"


class NotRefundable(Conflict):
    code = "charge_not_refundable"


class PaymentService:
    def __init__(
        self, repo: PaymentRepository, clock: Clock, settings: PaymentSettings, chaos: Chaos
    ) -> None:
        self._repo = repo
        self._clock = clock
        self._settings = settings
        self.chaos = chaos

    async def charge(self, request: ChargeRequest) -> tuple[ChargeView, bool]:
        """The charge and whether this call made it; a declined card raises CardDeclined."""
        existing = await self._repo.charge_by_key(request.idempotency_key)
        if existing is not None:
            return self._replay(existing, request), False
        await self._clock.sleep(self.chaos.latency_seconds)
        draw = self.chaos.draw()
        decline = TEST_CARDS.get(request.card_number)
        if decline is None and draw.decline:
            decline = DeclineCode.CARD_DECLINED
        ours = self._new_charge(request, decline)
        recorded = await self._repo.add_charge(ours)
        if recorded.id != ours.id:
            # A racing request with the same key recorded first: answer as its replay.
            return self._replay(recorded, request), False
        if draw.hang:
            # The ambiguous case: the outcome is recorded, but the caller hears nothing in time.
            await self._clock.sleep(self._settings.timeout_hang_seconds)
            raise ProcessorTimeout(
                "the processor did not answer in time; look the charge up by its idempotency key"
            )
        return self._replay(recorded, request), True

    async def charge_by_key(self, key: str) -> ChargeView:
        charge = await self._repo.charge_by_key(key)
        if charge is None:
            raise NotFound(f"no charge has idempotency key {key!r}")
        return ChargeView.of(charge)

    async def void(self, request: VoidRequest) -> ChargeView:
        """What was charged under the key, or a void that refuses any later charge under it.

        A caller that lost track of a charge (its process died mid-request) asks this rather
        than a plain look-up: a request still on its way could otherwise be charged after the
        caller concluded that nothing was.
        """
        tombstone = Charge.void(new_id(), request.idempotency_key, self._now())
        return ChargeView.of(await self._repo.add_charge(tombstone))

    async def charge_by_id(self, charge_id: str) -> ChargeView:
        return ChargeView.of(await self._charge(charge_id))

    async def refund(self, charge_id: str, request: RefundRequest) -> tuple[RefundView, bool]:
        """The refund and whether this call made it; one refund per idempotency key."""
        existing = await self._repo.refund_by_key(request.idempotency_key)
        if existing is not None:
            return self._replay_refund(existing, charge_id, request), False
        for _ in range(REFUND_ATTEMPTS):
            charge = await self._refundable(charge_id)
            amount = self._refund_amount(charge, request)
            if await self._repo.take_refund(charge, amount):
                break
            if request.amount is not None:
                raise self._exceeds(await self._charge(charge_id), amount)
        else:
            raise Conflict("the charge kept changing; try the refund again")
        refund = Refund(
            _id=new_id(),
            idempotency_key=request.idempotency_key,
            charge_id=charge.id,
            amount=amount,
            currency=charge.currency,
            created_at=self._now(),
        )
        if not await self._repo.add_refund(refund):
            # A racing request with the same key recorded its refund first: keep only that one.
            await self._repo.give_back_refund(charge.id, amount)
            winner = await self._repo.refund_by_key(request.idempotency_key)
            assert winner is not None
            return self._replay_refund(winner, charge_id, request), False
        return RefundView.of(refund), True

    async def refunds(self, charge_id: str) -> list[RefundView]:
        await self._charge(charge_id)
        return [RefundView.of(r) for r in await self._repo.refunds_of(charge_id)]

    def behaviour(self) -> Behaviour:
        return self.chaos.behaviour

    def change_behaviour(self, change: BehaviourChange) -> Behaviour:
        return self.chaos.change(change)

    async def reset_behaviour(self) -> None:
        """A freshly started processor is calm: no latency, no timeouts, no random declines."""
        self.chaos.reset()

    def _new_charge(self, request: ChargeRequest, decline: DeclineCode | None) -> Charge:
        return Charge(
            _id=new_id(),
            idempotency_key=request.idempotency_key,
            status=ChargeStatus.DECLINED if decline else ChargeStatus.SUCCEEDED,
            amount=request.amount,
            currency=request.currency,
            customer_id=request.customer_id,
            card_last4=request.card_number[-4:],
            description=request.description,
            decline_code=decline,
            created_at=self._now(),
        )

    def _replay(self, charge: Charge, request: ChargeRequest) -> ChargeView:
        if charge.status is ChargeStatus.VOIDED:
            raise ChargeVoided(
                f"idempotency key {request.idempotency_key!r} was voided; nothing was charged"
            )
        if not charge.same_request(request):
            raise IdempotencyMismatch(
                f"idempotency key {request.idempotency_key!r} was used for a different charge "
                f"({charge.amount} {charge.currency}, card ending {charge.card_last4})"
            )
        if charge.status is ChargeStatus.DECLINED:
            raise CardDeclined(charge)
        return ChargeView.of(charge)

    def _replay_refund(self, refund: Refund, charge_id: str, request: RefundRequest) -> RefundView:
        if refund.charge_id != charge_id or request.amount not in (None, refund.amount):
            raise IdempotencyMismatch(
                f"idempotency key {request.idempotency_key!r} was used for a different refund "
                f"({refund.amount} of charge {refund.charge_id})"
            )
        return RefundView.of(refund)

    def _now(self) -> datetime:
        # Mongo keeps milliseconds: store what a later read returns, so replays compare equal.
        now = self._clock.now()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def _charge(self, charge_id: str) -> Charge:
        charge = await self._repo.charge(charge_id)
        if charge is None:
            raise NotFound(f"charge {charge_id} does not exist")
        return charge

    async def _refundable(self, charge_id: str) -> Charge:
        charge = await self._charge(charge_id)
        if charge.status is not ChargeStatus.SUCCEEDED:
            raise NotRefundable(
                f"charge {charge_id} was {charge.status.value.lower()}; there is nothing to refund"
            )
        return charge

    def _refund_amount(self, charge: Charge, request: RefundRequest) -> int:
        left = charge.amount - charge.refunded
        amount = left if request.amount is None else request.amount
        if amount <= 0 or amount > left:
            raise self._exceeds(charge, amount)
        return amount

    @staticmethod
    def _exceeds(charge: Charge, amount: int) -> RefundExceedsCharge:
        left = charge.amount - charge.refunded
        return RefundExceedsCharge(
            f"cannot refund {amount}: only {left} of charge {charge.id} is left to refund",
            details=[{"requested": amount, "refundable": left}],
        )
