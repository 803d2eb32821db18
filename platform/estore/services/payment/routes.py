"""Payment REST routes under /api/v1: charges and refunds for the merchant; the chaos dials."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from estore.kit.deps import service_of
from estore.kit.errors import ErrorResponse
from estore.services.payment.merchant import require_merchant, require_merchant_or_admin
from estore.services.payment.models import (
    Behaviour,
    BehaviourChange,
    ChargeRequest,
    ChargeView,
    RefundRequest,
    RefundView,
    VoidRequest,
)
from estore.services.payment.service import PaymentService

Service = Annotated[PaymentService, Depends(service_of)]
Merchant = Depends(require_merchant)
MerchantOrAdmin = Depends(require_merchant_or_admin)

router = APIRouter(tags=["payment"])


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


CHARGE_ERRORS: dict[int | str, dict[str, Any]] = {
    402: _error("The card was declined; details carry the decline_code"),
    409: _error("The idempotency key was used for a different charge, or voided"),
    504: _error("Timed out after recording the charge: look it up by idempotency key"),
}
REFUND_ERRORS: dict[int | str, dict[str, Any]] = {
    404: _error("No such charge"),
    409: _error("More than is left to refund, a declined charge, or a reused key"),
}


@router.post(
    "/charges",
    status_code=201,
    dependencies=[Merchant],
    responses={200: {"model": ChargeView, "description": "A replay"}, **CHARGE_ERRORS},
)
async def charge(body: ChargeRequest, response: Response, service: Service) -> ChargeView:
    view, created = await service.charge(body)
    response.status_code = 201 if created else 200
    return view


@router.get(
    "/charges",
    dependencies=[Merchant],
    responses={404: _error("No charge has this idempotency key")},
)
async def charge_by_key(
    idempotency_key: Annotated[str, Query(min_length=1, max_length=200)],
    service: Service,
) -> ChargeView:
    return await service.charge_by_key(idempotency_key)


@router.post("/charges/voids", dependencies=[Merchant])
async def void(body: VoidRequest, service: Service) -> ChargeView:
    """Close an idempotency key: the charge made under it, or a void no later charge passes."""
    return await service.void(body)


@router.get(
    "/charges/{charge_id}", dependencies=[Merchant], responses={404: _error("No such charge")}
)
async def charge_by_id(charge_id: str, service: Service) -> ChargeView:
    return await service.charge_by_id(charge_id)


@router.post(
    "/charges/{charge_id}/refunds",
    status_code=201,
    dependencies=[Merchant],
    responses={200: {"model": RefundView, "description": "A replay"}, **REFUND_ERRORS},
)
async def refund(
    charge_id: str, body: RefundRequest, response: Response, service: Service
) -> RefundView:
    view, created = await service.refund(charge_id, body)
    response.status_code = 201 if created else 200
    return view


@router.get(
    "/charges/{charge_id}/refunds",
    dependencies=[Merchant],
    responses={404: _error("No such charge")},
)
async def refunds(charge_id: str, service: Service) -> dict[str, list[RefundView]]:
    return {"items": await service.refunds(charge_id)}


@router.get("/admin/behaviour", dependencies=[MerchantOrAdmin])
async def behaviour(service: Service) -> Behaviour:
    return service.behaviour()


@router.post("/admin/behaviour", dependencies=[MerchantOrAdmin])
async def change_behaviour(body: BehaviourChange, service: Service) -> Behaviour:
    return service.change_behaviour(body)
