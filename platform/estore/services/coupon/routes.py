"""Coupon REST routes under /api/v1: quote, redeem, release for checkout; admin coupons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from estore.kit.deps import service_of
from estore.kit.errors import ErrorResponse
from estore.kit.identity import Caller, Role, require_caller, require_role, require_service_or_role
from estore.services.coupon.models import (
    CouponInput,
    CouponView,
    Quote,
    QuoteRequest,
    RedeemRequest,
    RedemptionView,
    ReleaseRequest,
    ReleaseResult,
)
from estore.services.coupon.service import CouponService

Service = Annotated[CouponService, Depends(service_of)]
AnyCaller = Annotated[Caller, Depends(require_caller)]
Admin = Annotated[Caller, Depends(require_role(Role.ADMIN))]
# Checkout steps: the order service (or an admin), never a customer's token on its own.
ServiceOrAdmin = Annotated[Caller, Depends(require_service_or_role(Role.ADMIN))]

router = APIRouter(tags=["coupon"])


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


@router.post("/coupons/quote")
async def quote(body: QuoteRequest, caller: AnyCaller, service: Service) -> Quote:
    return await service.quote(body, caller)


@router.post("/coupons/redeem", responses={409: _error("Not valid: code coupon_rejected")})
async def redeem(body: RedeemRequest, caller: ServiceOrAdmin, service: Service) -> RedemptionView:
    return await service.redeem(body, caller)


@router.post("/coupons/release")
async def release(body: ReleaseRequest, caller: ServiceOrAdmin, service: Service) -> ReleaseResult:
    return await service.release(body.order_id, caller)


@router.post("/coupons", status_code=201, responses={409: _error("The code is taken")})
async def create(body: CouponInput, _: Admin, service: Service) -> CouponView:
    return await service.create(body)


@router.get("/coupons")
async def coupons(
    _: Admin, service: Service, active: Annotated[bool | None, Query()] = None
) -> dict[str, list[CouponView]]:
    return {"items": await service.coupons(active)}


@router.get("/coupons/mine")
async def mine(caller: AnyCaller, service: Service) -> dict[str, list[CouponView]]:
    return {"items": await service.my_coupons(caller)}


@router.get("/coupons/{code}", responses={404: _error("No such coupon")})
async def coupon(code: str, _: Admin, service: Service) -> CouponView:
    return await service.coupon(code)


@router.post("/coupons/{code}/deactivate", responses={404: _error("No such coupon")})
async def deactivate(code: str, _: Admin, service: Service) -> CouponView:
    return await service.deactivate(code)
