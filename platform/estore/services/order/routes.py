"""Order REST routes under /api/v1: check out, list and read orders, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response

from estore.kit.deps import paging_query, service_of
from estore.kit.identity import Caller, require_caller
from estore.kit.paging import MAX_OFFSET
from estore.services.order.models import CancelRequest, CheckoutRequest, OrderPage, OrderView
from estore.services.order.service import MAX_PAGE, OrderService

Service = Annotated[OrderService, Depends(service_of)]
CurrentCaller = Annotated[Caller, Depends(require_caller)]

router = APIRouter(tags=["orders"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such order for you"}}


@router.post(
    "/orders",
    status_code=201,
    responses={
        200: {"description": "The same idempotency key again: the first order", "model": OrderView},
        409: {"description": "The idempotency key was used for a different order"},
    },
)
async def create_order(
    body: CheckoutRequest, caller: CurrentCaller, service: Service, response: Response
) -> OrderView:
    """Check out. A FAILED order (201) carries `failure_reason`; nothing stays charged."""
    order, created = await service.create_order(caller, body)
    if not created:
        response.status_code = 200
    return OrderView.of(order)


@router.get("/orders")
async def list_orders(
    caller: CurrentCaller,
    service: Service,
    limit: Annotated[int, paging_query(1, MAX_PAGE)] = 20,
    offset: Annotated[int, paging_query(0, MAX_OFFSET)] = 0,
) -> OrderPage:
    return OrderPage(items=[OrderView.of(o) for o in await service.orders(caller, limit, offset)])


@router.get("/orders/{order_id}", responses=NOT_FOUND)
async def get_order(order_id: str, caller: CurrentCaller, service: Service) -> OrderView:
    return OrderView.of(await service.order(caller, order_id))


@router.post(
    "/orders/{order_id}/cancel",
    responses={
        **NOT_FOUND,
        409: {"description": "Pending or failed orders cannot be cancelled"},
        503: {"description": "Cancellation accepted; it finishes when the peers answer"},
    },
)
async def cancel_order(
    order_id: str,
    caller: CurrentCaller,
    service: Service,
    body: Annotated[CancelRequest | None, Body()] = None,
) -> OrderView:
    return OrderView.of(await service.cancel(caller, order_id, body.reason if body else None))
