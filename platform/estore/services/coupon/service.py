"""Coupon use cases: quote, redeem and release for checkout; admin; welcome coupons."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from estore.kit.clock import Clock
from estore.kit.errors import Conflict, Forbidden, NotFound
from estore.kit.identity import STAFF, Caller
from estore.kit.ids import new_id
from estore.services.coupon import rules
from estore.services.coupon.models import (
    CartItem,
    Coupon,
    CouponInput,
    CouponView,
    DiscountKind,
    Quote,
    QuoteRequest,
    RedeemRequest,
    Redemption,
    RedemptionStatus,
    RedemptionView,
    ReleaseResult,
    normalise_code,
)
from estore.services.coupon.repository import CouponRepository
from estore.services.coupon.settings import CouponSettings

SETTLE_STEP_SECONDS = 0.02
# A claim racing another claim or release loses at most a few rounds before it sees a result.
RACE_ROUNDS = 5


class CouponRejected(Conflict):
    code = "coupon_rejected"


class CouponService:
    def __init__(self, repo: CouponRepository, clock: Clock, settings: CouponSettings) -> None:
        self._repo = repo
        self._clock = clock
        self._settings = settings

    # --- checkout ---------------------------------------------------------------------------

    async def quote(self, request: QuoteRequest, caller: Caller) -> Quote:
        _own(request.customer_id, caller)
        return await self.preview(
            request.code, request.items, request.currency, request.customer_id
        )

    async def preview(
        self, code: str, items: list[CartItem], currency: str, customer_id: str | None
    ) -> Quote:
        normal = normalise_code(code)
        coupon = await self._repo.coupon_by_code(normal)
        cart = rules.Cart(customer_id, currency, items)
        decision = rules.decide(coupon, cart, self._clock.now())
        return Quote(
            code=normal, valid=decision.valid, discount=decision.discount, reason=decision.reason
        )

    async def redeem(self, request: RedeemRequest, caller: Caller) -> RedemptionView:
        """Count the coupon once for the order; the same order again gets the same answer."""
        _own(request.customer_id, caller)
        waited = 0.0
        for _ in range(
            RACE_ROUNDS + int(self._settings.redeem_settle_seconds / SETTLE_STEP_SECONDS)
        ):
            existing = await self._repo.redemption(request.order_id)
            if existing is None:
                made = await self._try_redeem(request)
                if made is not None:
                    return made
            elif existing.status is RedemptionStatus.PENDING:
                if waited >= self._settings.redeem_settle_seconds:
                    break
                await self._clock.sleep(SETTLE_STEP_SECONDS)
                waited += SETTLE_STEP_SECONDS
            elif existing.status is RedemptionStatus.REDEEMED:
                return _same_redemption(existing, request)
            elif existing.customer_id == request.customer_id or existing.released_by_staff:
                raise CouponRejected(f"the coupon of order {request.order_id} was released")
            else:
                # Another customer's release left this tombstone: it does not bind this order.
                await self._repo.drop(existing, RedemptionStatus.RELEASED)
        raise Conflict(f"the coupon of order {request.order_id} is being redeemed; retry")

    async def release(self, order_id: str, caller: Caller) -> ReleaseResult:
        """Give the order's redemption back; idempotent, and a no-op for an unknown order."""
        for _ in range(RACE_ROUNDS):
            existing = await self._repo.redemption(order_id)
            if existing is None:
                if await self._repo.claim(self._tombstone(order_id, caller)):
                    return ReleaseResult(order_id=order_id, released=False)
                continue
            if existing.customer_id != caller.user_id and not caller.roles & STAFF:
                raise Forbidden("only the order's customer, support or admins may release it")
            if existing.status is RedemptionStatus.RELEASED:
                return ReleaseResult(order_id=order_id, released=existing.coupon_id is not None)
            if await self._repo.move(
                existing, existing.status, RedemptionStatus.RELEASED, self._clock.now()
            ):
                # A PENDING claim is undone by its redeemer, which sees the release.
                if existing.status is RedemptionStatus.REDEEMED:
                    assert existing.coupon_id is not None
                    await self._repo.uncount(existing.coupon_id, existing.customer_id)
                return ReleaseResult(order_id=order_id, released=True)
        raise Conflict(f"the coupon of order {order_id} kept changing; retry the release")

    async def _try_redeem(self, request: RedeemRequest) -> RedemptionView | None:
        """Redeem, or None when another request claimed the order first (look again)."""
        code = normalise_code(request.code)
        coupon = await self._repo.coupon_by_code(code)
        cart = rules.Cart(request.customer_id, request.currency, request.items)
        decision = rules.decide(coupon, cart, self._clock.now())
        if coupon is None or decision.reason is not None:
            raise CouponRejected(decision.reason or rules.UNKNOWN)
        claim = Redemption(
            _id=new_id(),
            order_id=request.order_id,
            customer_id=request.customer_id,
            status=RedemptionStatus.PENDING,
            coupon_id=coupon.id,
            code=code,
            discount=decision.discount,
            created_at=_millis(self._clock.now()),
        )
        if not await self._repo.claim(claim):
            return None
        if not await self._repo.count(coupon, request.customer_id):
            await self._repo.drop(claim, RedemptionStatus.PENDING)
            now_coupon = await self._repo.coupon(coupon.id)
            reason = now_coupon and rules.limit_reason(now_coupon, request.customer_id)
            raise CouponRejected(reason or rules.INACTIVE)
        if not await self._repo.move(claim, RedemptionStatus.PENDING, RedemptionStatus.REDEEMED):
            await self._repo.uncount(coupon.id, request.customer_id)
            raise CouponRejected(f"the coupon of order {request.order_id} was released")
        return RedemptionView.of(claim)

    def _tombstone(self, order_id: str, caller: Caller) -> Redemption:
        now = _millis(self._clock.now())
        return Redemption(
            _id=new_id(),
            order_id=order_id,
            customer_id=caller.user_id,
            status=RedemptionStatus.RELEASED,
            created_at=now,
            released_at=now,
            released_by_staff=bool(caller.roles & STAFF),
        )

    # --- coupons ----------------------------------------------------------------------------

    async def create(self, form: CouponInput) -> CouponView:
        now = _millis(self._clock.now())
        coupon = Coupon(
            _id=new_id(),
            **form.model_dump(exclude={"code"}),
            code=normalise_code(form.code),
            created_at=now,
            updated_at=now,
        )
        await self._repo.add_coupon(coupon)
        return CouponView.of(coupon)

    async def deactivate(self, code: str) -> CouponView:
        coupon = await self._repo.deactivate(normalise_code(code), self._clock.now())
        if coupon is None:
            raise NotFound(f"no coupon has code {normalise_code(code)}")
        return CouponView.of(coupon)

    async def coupon(self, code: str) -> CouponView:
        coupon = await self._repo.coupon_by_code(normalise_code(code))
        if coupon is None:
            raise NotFound(f"no coupon has code {normalise_code(code)}")
        return CouponView.of(coupon)

    async def coupons(self, active: bool | None = None) -> list[CouponView]:
        query: dict[str, Any] = {} if active is None else {"active": active}
        return [CouponView.of(c) for c in await self._repo.coupons(query)]

    async def my_coupons(self, caller: Caller) -> list[CouponView]:
        """The caller's personal coupons and the public ones that can be used now."""
        now = self._clock.now()
        found = await self._repo.coupons(
            {"$or": [{"customer_id": caller.user_id}, {"customer_id": None, "active": True}]}
        )
        usable = [
            c
            for c in found
            if c.customer_id is not None
            or (
                (c.valid_from is None or c.valid_from <= now)
                and (c.valid_until is None or now < c.valid_until)
            )
        ]
        return [CouponView.of(c) for c in usable]

    async def issue_welcome(self, user_id: str, at: datetime) -> bool:
        """The new customer's personal welcome coupon; False if it was already issued."""
        if await self._repo.coupon(f"welcome-{user_id}") is not None:
            return False
        start = _millis(at)
        coupon = Coupon(
            _id=f"welcome-{user_id}",
            code=f"WELCOME-{user_id.upper()}",
            kind=DiscountKind.PERCENT,
            percent=self._settings.welcome_percent,
            currency=self._settings.welcome_currency,
            valid_from=start,
            valid_until=start + timedelta(days=self._settings.welcome_valid_days),
            max_redemptions=1,
            max_per_customer=1,
            customer_id=user_id,
            description=f"Welcome: {self._settings.welcome_percent}% off your first order",
            created_at=start,
            updated_at=start,
        )
        try:
            await self._repo.add_coupon(coupon)
        except Conflict:
            return False  # a redelivery racing the first delivery
        return True


def _own(customer_id: str, caller: Caller) -> None:
    if customer_id != caller.user_id and not caller.roles & STAFF:
        raise Forbidden("customers may only use coupons for themselves")


def _same_redemption(existing: Redemption, request: RedeemRequest) -> RedemptionView:
    if existing.customer_id != request.customer_id:
        raise CouponRejected(f"order {request.order_id} belongs to another customer")
    if existing.code != normalise_code(request.code):
        raise CouponRejected(f"order {request.order_id} already redeemed coupon {existing.code}")
    return RedemptionView.of(existing)


def _millis(at: datetime) -> datetime:
    # Mongo keeps milliseconds: store what a later read returns, so replays compare equal.
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
