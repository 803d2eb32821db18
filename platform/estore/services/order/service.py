"""Order use cases: check out (through the saga), read orders, cancel them."""

from __future__ import annotations

from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from estore.kit.clock import Clock
from estore.kit.errors import Conflict, Forbidden, NotFound, Unavailable
from estore.kit.identity import STAFF, Caller, Role
from estore.kit.ids import new_id
from estore.kit.money import Money
from estore.kit.paging import page_offset, page_size
from estore.services.order.models import (
    CheckoutRequest,
    Order,
    OrderStatus,
    Saga,
    SagaKind,
    SagaStatus,
)
from estore.services.order.recovery import SagaRunner
from estore.services.order.repository import OrderRepository
from estore.services.order.settings import OrderSettings

MAX_PAGE = 100


SETTLE_STEP_SECONDS = 0.05


class OrderService:
    def __init__(
        self, repo: OrderRepository, runner: SagaRunner, settings: OrderSettings, clock: Clock
    ) -> None:
        self._repo = repo
        self.runner = runner
        self._settings = settings
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._repo.ensure_indexes()

    async def create_order(self, caller: Caller, request: CheckoutRequest) -> tuple[Order, bool]:
        """Run a checkout; returns the order and whether this call created it.

        The same idempotency key again returns the first order, in whatever state it is now,
        and starts nothing: a retried request can never charge twice.
        """
        existing = await self._repo.by_key(caller.user_id, request.idempotency_key)
        if existing is not None:
            return self._replayed(existing, request), False
        now = self._clock.now()
        order_id = new_id()
        zero = Money.zero(self._settings.currency)
        saga = Saga(
            _id=order_id,
            kind=SagaKind.CHECKOUT,
            order_id=order_id,
            caller=caller.model_dump(mode="json"),
            lines=request.items,
            coupon_code=request.coupon_code.upper() if request.coupon_code else None,
            currency=self._settings.currency,
            created_at=now,
            updated_at=now,
        )
        # The saga is written first: a stop between the two writes leaves a saga that
        # recovery closes, never an order that nothing will ever finish.
        await self._repo.add_saga(saga)
        order = Order(
            _id=order_id,
            customer_id=caller.user_id,
            idempotency_key=request.idempotency_key,
            request_hash=request.fingerprint(),
            currency=self._settings.currency,
            subtotal=zero,
            discount=zero,
            total=zero,
            coupon_code=saga.coupon_code,
            created_at=now,
            updated_at=now,
        )
        if await self._repo.claim(order) is None:
            saga.status = SagaStatus.COMPENSATED
            saga.failure_reason = "a concurrent request with the same idempotency key won"
            await self._repo.save_saga(saga)
            first = await self._repo.by_key(caller.user_id, request.idempotency_key)
            assert first is not None
            return self._replayed(first, request), False
        await self.runner.run(saga, request.card_number)
        return await self._get(order_id), True

    async def order(self, caller: Caller, order_id: str) -> Order:
        order = await self._repo.get(order_id)
        if order is None or not order.visible_to(caller):
            # Someone else's order reads exactly like a missing one.
            raise NotFound(f"order {order_id} not found")
        return order

    async def orders(self, caller: Caller, limit: int = 20, offset: int = 0) -> list[Order]:
        """The caller's orders, newest first; support and admins see everyone's."""
        owner = None if caller.roles & STAFF else caller.user_id
        return await self._repo.page(owner, page_size(limit, MAX_PAGE), page_offset(offset))

    async def orders_of(self, caller: Caller | None, customer_id: str) -> list[Order]:
        """A customer's orders for the User entity: only they and staff may see them."""
        if caller is None or not (caller.user_id == customer_id or caller.roles & STAFF):
            return []
        return await self._repo.page(customer_id, MAX_PAGE, 0)

    async def cancel(self, caller: Caller, order_id: str, reason: str | None = None) -> Order:
        order = await self.order(caller, order_id)
        self._check_cancellable(caller, order)
        if order.status is OrderStatus.CANCELLED:
            return order
        saga = await self._cancel_saga(caller, order, reason)
        if saga.status is not SagaStatus.COMPLETED:
            saga = await self.runner.resume(saga.id) or await self._settled(saga)
        if saga.status is not SagaStatus.COMPLETED:
            raise Unavailable(
                "the cancellation is under way and will finish when the payment processor "
                "and the product service answer; check the order again shortly"
            )
        return await self._get(order_id)

    async def _settled(self, saga: Saga) -> Saga:
        """The saga once another request running it here has finished (a double-clicked
        Cancel), or as it stands after a short wait."""
        waited = 0.0
        while waited < self._settings.cancel_settle_seconds:
            await self._clock.sleep(SETTLE_STEP_SECONDS)
            waited += SETTLE_STEP_SECONDS
            current = await self._repo.saga(saga.id)
            if current is not None and current.status is SagaStatus.COMPLETED:
                return current
        return saga

    async def recover(self) -> int:
        return await self.runner.recover()

    def _check_cancellable(self, caller: Caller, order: Order) -> None:
        if caller.user_id != order.customer_id and Role.ADMIN not in caller.roles:
            raise Forbidden("only the customer or an admin may cancel an order")
        if order.status is OrderStatus.PENDING:
            raise Conflict("the order is still being processed; try again in a moment")
        if order.status is OrderStatus.FAILED:
            raise Conflict(
                "the order failed, so nothing was charged and there is nothing to cancel"
            )
        if Role.ADMIN in caller.roles or order.status is OrderStatus.CANCELLED:
            return
        window = timedelta(seconds=self._settings.cancel_window_seconds)
        assert order.confirmed_at is not None
        if self._clock.now() > order.confirmed_at + window:
            minutes = self._settings.cancel_window_seconds // 60
            raise Forbidden(
                f"orders can be cancelled within {minutes} minutes of confirmation; "
                "please contact support"
            )

    async def _cancel_saga(self, caller: Caller, order: Order, reason: str | None) -> Saga:
        now = self._clock.now()
        who = "an admin" if caller.user_id != order.customer_id else "the customer"
        saga = Saga(
            _id=f"{order.id}:cancel",
            kind=SagaKind.CANCEL,
            order_id=order.id,
            caller=caller.model_dump(mode="json"),
            coupon_code=order.coupon_code,
            currency=order.currency,
            reservation_id=order.reservation_id,
            charge_id=order.payment_id,
            cancel_reason=reason or f"cancelled by {who}",
            created_at=now,
            updated_at=now,
        )
        try:
            await self._repo.add_saga(saga)
        except DuplicateKeyError:
            # Cancelled twice: the first cancellation is the one that counts.
            first = await self._repo.saga(saga.id)
            assert first is not None
            return first
        return await self.runner.run(saga)

    def _replayed(self, order: Order, request: CheckoutRequest) -> Order:
        if order.request_hash != request.fingerprint():
            raise Conflict(
                f"idempotency key {request.idempotency_key!r} was already used for a different "
                "order; use a new key for a new order"
            )
        return order

    async def _get(self, order_id: str) -> Order:
        order = await self._repo.get(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        return order
