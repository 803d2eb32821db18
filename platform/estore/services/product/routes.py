"""Product REST routes under /api/v1: products, stock, reviews and the checkout's reservations.

`aliases` serves the product routes again at the original design's unversioned /api/products.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from estore.kit.deps import service_of
from estore.kit.errors import validated
from estore.kit.identity import (
    Caller,
    Role,
    require_caller,
    require_role,
    require_service_or_role,
)
from estore.kit.inputs import check_count
from estore.services.product.listing import ProductFilter, ProductSort
from estore.services.product.models import (
    MAX_PRODUCT_IDS,
    Product,
    ProductCount,
    ProductInput,
    ProductList,
    ProductUpdate,
    Reservation,
    ReservationRequest,
    Review,
    ReviewInput,
    ReviewList,
    StockChange,
    StockRecord,
)
from estore.services.product.service import ProductService

Responses = dict[int | str, dict[str, Any]]
Service = Annotated[ProductService, Depends(service_of)]
AnyCaller = Annotated[Caller, Depends(require_caller)]
Admin = Annotated[Caller, Depends(require_role(Role.ADMIN))]
# Checkout steps: the order service (or an admin), never a customer's token on its own.
ServiceOrAdmin = Annotated[Caller, Depends(require_service_or_role(Role.ADMIN))]

router = APIRouter(tags=["products"])
reservations = APIRouter(tags=["reservations"])
aliases = APIRouter(prefix="/api")

NOT_FOUND: Responses = {404: {"description": "No such product"}}
CONFLICT: Responses = {409: {"description": "The stock or reservation does not allow it"}}
RESERVATION: Responses = {**CONFLICT, 404: {"description": "No such reservation"}}


def _reservation_link(suffix: str, method: str) -> dict[str, Any]:
    """An OpenAPI link from a Reservation answer to an operation on the same reservation."""
    path = "~1api~1v1~1reservations~1{reservation_id}" + suffix.replace("/", "~1")
    return {
        "operationRef": f"#/paths/{path}/{method}",
        "parameters": {"reservation_id": "$response.body#/id"},
    }


# What a client can do next with the reservation it was given (for stateful API testing).
RESERVATION_LINKS: dict[str, Any] = {
    "links": {
        "GetReservation": _reservation_link("", "get"),
        "ConfirmReservation": _reservation_link("/confirm", "post"),
        "ReleaseReservation": _reservation_link("/release", "post"),
    }
}


@router.get("/products", responses={400: {"description": "Bad filter, cursor or page size"}})
async def list_products(
    service: Service,
    ids: str | None = None,
    category_id: str | None = None,
    text: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    in_stock: bool | None = None,
    sort: ProductSort = ProductSort.NEWEST,
    first: int | None = None,
    after: str | None = None,
) -> ProductList:
    """`ids=a,b,c` reads those products (unknown ids are left out); otherwise a filtered page.

    At most MAX_PRODUCT_IDS (100) ids are read at once.
    """
    if ids is not None:
        wanted = [i for i in (part.strip() for part in ids.split(",")) if i]
        check_count("ids", wanted, MAX_PRODUCT_IDS)
        return ProductList(items=await service.products(wanted))
    filter = validated(
        ProductFilter,
        {
            "category_id": category_id,
            "text": text,
            "min_price": min_price,
            "max_price": max_price,
            "in_stock": in_stock,
        },
    )
    page = await service.page(filter, sort, first, after)
    return ProductList(
        items=[Product.of(doc) for doc in page.items],
        next_cursor=page.end_cursor if page.has_next_page else None,
    )


@router.get("/products/count")
async def count_products(category_id: str, service: Service) -> ProductCount:
    """Products filed directly under a category: the category service asks before a delete."""
    return ProductCount(category_id=category_id, count=await service.count_in_category(category_id))


@router.get("/products/{product_id}", responses=NOT_FOUND)
async def get_product(product_id: str, service: Service) -> Product:
    return await service.product(product_id)


@router.post("/products", status_code=201, responses={409: {"description": "SKU taken"}})
async def create_product(form: ProductInput, _: Admin, service: Service) -> Product:
    return await service.create(form)


@router.patch("/products/{product_id}", responses=NOT_FOUND)
async def update_product(
    product_id: str, patch: ProductUpdate, _: Admin, service: Service
) -> Product:
    return await service.update(product_id, patch)


@router.patch("/products/{product_id}/stock", responses={**NOT_FOUND, **CONFLICT})
async def change_stock(
    product_id: str, change: StockChange, caller: Admin, service: Service
) -> Product:
    return await service.change_stock(product_id, change, caller)


@router.get("/products/{product_id}/stock/changes", responses=NOT_FOUND)
async def stock_changes(product_id: str, _: Admin, service: Service) -> list[StockRecord]:
    return await service.stock_changes(product_id)


@router.get("/products/{product_id}/reviews", responses=NOT_FOUND)
async def reviews(product_id: str, service: Service, limit: int = 20) -> ReviewList:
    return ReviewList(items=await service.reviews(product_id, limit))


@router.post(
    "/products/{product_id}/reviews",
    status_code=201,
    responses={**NOT_FOUND, 409: {"description": "Already reviewed"}},
)
async def add_review(
    product_id: str, form: ReviewInput, caller: AnyCaller, service: Service
) -> Review:
    return await service.add_review(product_id, form, caller)


@reservations.post(
    "/reservations",
    status_code=201,
    responses={
        201: RESERVATION_LINKS,
        200: {
            "model": Reservation,
            "description": "This key was reserved before",
            **RESERVATION_LINKS,
        },
        **CONFLICT,
        404: {"description": "No such product"},
    },
)
async def reserve(
    request: ReservationRequest, response: Response, caller: ServiceOrAdmin, service: Service
) -> Reservation:
    reservation, created = await service.reservations.reserve(request, caller.user_id)
    if not created:
        response.status_code = 200
    return reservation


@reservations.get("/reservations/{reservation_id}", responses=RESERVATION)
async def get_reservation(reservation_id: str, _: ServiceOrAdmin, service: Service) -> Reservation:
    return await service.reservations.get(reservation_id)


@reservations.post("/reservations/{reservation_id}/confirm", responses=RESERVATION)
async def confirm(reservation_id: str, _: ServiceOrAdmin, service: Service) -> Reservation:
    return await service.reservations.confirm(reservation_id)


@reservations.post("/reservations/{reservation_id}/release", responses=RESERVATION)
async def release(reservation_id: str, _: ServiceOrAdmin, service: Service) -> Reservation:
    return await service.reservations.release(reservation_id)


@reservations.post("/reservations/{reservation_id}/restock", responses=RESERVATION)
async def restock(
    reservation_id: str,
    _: ServiceOrAdmin,
    service: Service,
) -> Reservation:
    return await service.reservations.restock(reservation_id)


aliases.include_router(router, include_in_schema=False)
