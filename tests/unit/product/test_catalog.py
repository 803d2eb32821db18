"""Catalog use cases: listings and cursors, stock changes, reviews and the sold count."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from estore.kit.clock import FakeClock
from estore.kit.errors import BadRequest, Conflict, NotFound
from estore.services.product.listing import ProductFilter, ProductSort
from estore.services.product.models import (
    ProductUpdate,
    ReservationLine,
    ReservationRequest,
    ReviewInput,
    StockChange,
)
from estore.services.product.service import ProductService
from tests.unit.product.conftest import ADMIN, ALICE, BOB, make


async def walk(
    service: ProductService, sort: ProductSort, size: int, **filters: object
) -> list[str]:
    """Every sku the listing yields, page by page."""
    seen: list[str] = []
    after = None
    while True:
        page = await service.page(ProductFilter.model_validate(filters), sort, size, after)
        seen += [p.sku for p in page.items]
        if not page.has_next_page:
            return seen
        after = page.end_cursor


@pytest.fixture
async def shelf(products: ProductService, clock: FakeClock) -> ProductService:
    for n, (price, category) in enumerate(
        [(900, "phones"), (300, "laptops"), (300, "phones"), (1500, "books"), (700, "laptops")]
    ):
        await make(products, f"SKU-{n}", price=price, category=category, stock=n)
        await clock.advance(1)
    return products


async def test_pages_walk_every_product_once_in_sort_order(shelf: ProductService) -> None:
    everything = (await shelf.page(None, ProductSort.NEWEST, 10)).items
    # Equal prices (SKU-1 and SKU-2 cost the same) are ordered by id, so no page repeats one.
    by_price = sorted(everything, key=lambda p: (p.price.amount, p.id))
    assert await walk(shelf, ProductSort.PRICE_ASC, 2) == [p.sku for p in by_price]
    assert [p.sku for p in by_price][2:] == ["SKU-4", "SKU-0", "SKU-3"]
    assert await walk(shelf, ProductSort.NEWEST, 3) == [f"SKU-{n}" for n in (4, 3, 2, 1, 0)]


async def test_a_page_boundary_holds_when_products_are_added_between_pages(
    shelf: ProductService,
) -> None:
    first = await shelf.page(None, ProductSort.PRICE_ASC, 2)
    await make(shelf, "CHEAP", price=100)
    rest = await shelf.page(None, ProductSort.PRICE_ASC, 10, first.end_cursor)
    assert [p.sku for p in rest.items] == ["SKU-4", "SKU-0", "SKU-3"]


async def test_filters_narrow_by_category_subtree_price_text_and_stock(
    shelf: ProductService,
) -> None:
    assert await walk(shelf, ProductSort.NAME, 10, category_id="electronics") == [
        "SKU-0",
        "SKU-1",
        "SKU-2",
        "SKU-4",
    ]
    assert await walk(shelf, ProductSort.NAME, 10, min_price=300, max_price=700) == [
        "SKU-1",
        "SKU-2",
        "SKU-4",
    ]
    assert await walk(shelf, ProductSort.NAME, 10, text="sku-3") == ["SKU-3"]
    assert await walk(shelf, ProductSort.NAME, 10, in_stock=False) == ["SKU-0"]
    assert await shelf.count(ProductFilter(category_id="phones")) == 2


@pytest.mark.parametrize(
    "cursor", ["not a cursor", "W10", "WyJORVdFU1QiLDEsMl0", "WyJOT1BFIiwxLCJ4Il0"]
)
async def test_a_malformed_cursor_is_refused_with_a_clear_message(
    shelf: ProductService, cursor: str
) -> None:
    with pytest.raises(BadRequest, match="cursor"):
        await shelf.page(None, ProductSort.NEWEST, 2, cursor)


async def test_a_cursor_from_another_sort_is_refused(shelf: ProductService) -> None:
    page = await shelf.page(None, ProductSort.PRICE_ASC, 2)
    with pytest.raises(BadRequest, match="PRICE_ASC"):
        await shelf.page(None, ProductSort.NEWEST, 2, page.end_cursor)


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_sizes_outside_the_limit_are_refused(shelf: ProductService, first: int) -> None:
    with pytest.raises(BadRequest, match="between 1 and 100"):
        await shelf.page(None, ProductSort.NEWEST, first)


async def test_an_unknown_category_filter_is_a_not_found(shelf: ProductService) -> None:
    with pytest.raises(NotFound):
        await shelf.page(ProductFilter(category_id="nope"))


def test_an_inverted_price_range_is_refused() -> None:
    with pytest.raises(ValidationError, match="min_price"):
        ProductFilter(min_price=500, max_price=100)


async def test_a_product_in_an_unknown_category_is_refused(products: ProductService) -> None:
    with pytest.raises(BadRequest, match="category"):
        await make(products, "SKU-1", category="nope")
    phone = await make(products, "SKU-2")
    with pytest.raises(BadRequest, match="category"):
        await products.update(phone.id, ProductUpdate(category_id="nope"))
    assert (await products.product(phone.id)).category_id == "phones"


async def test_a_duplicate_sku_is_a_conflict(products: ProductService) -> None:
    await make(products, "sku-1")
    with pytest.raises(Conflict):
        await make(products, "SKU-1")


async def test_stock_changes_are_recorded_and_never_take_reserved_units(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    lines = [ReservationLine(product_id=phone.id, quantity=3)]
    await products.reservations.reserve(ReservationRequest(reservation_key="o1", items=lines))
    restocked = await products.change_stock(phone.id, StockChange(delta=4, reason="pallet"), ADMIN)
    assert (restocked.stock, restocked.reserved, restocked.available) == (9, 3, 6)
    with pytest.raises(Conflict, match="only 6"):
        await products.change_stock(phone.id, StockChange(delta=-7, reason="damaged"), ADMIN)
    with pytest.raises(Conflict):
        await products.change_stock(phone.id, StockChange(stock=2, reason="count"), ADMIN)
    counted = await products.change_stock(phone.id, StockChange(stock=3, reason="count"), ADMIN)
    assert (counted.stock, counted.reserved, counted.available) == (3, 3, 0)
    history = await products.stock_changes(phone.id)
    assert [(r.delta, r.stock_after, r.reason, r.by) for r in history] == [
        (4, 9, "pallet", "admin-1"),
        (-6, 3, "count", "admin-1"),
    ]


def test_a_stock_change_needs_exactly_one_of_delta_or_count() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        StockChange(delta=1, stock=4, reason="both")
    with pytest.raises(ValidationError, match="exactly one"):
        StockChange(reason="neither")


async def test_restocking_a_negative_quantity_is_refused(products: ProductService) -> None:
    phone = await make(products, "PHN-1", stock=5)
    with pytest.raises(BadRequest):
        await products.restock(phone.id, -3, ADMIN)
    assert (await products.product(phone.id)).stock == 5


async def test_reviews_keep_the_average_and_count_one_per_customer(
    products: ProductService, clock: FakeClock
) -> None:
    phone = await make(products, "PHN-1")
    assert (await products.product(phone.id)).rating is None
    await products.add_review(phone.id, ReviewInput(rating=5, title="Great"), ALICE)
    await clock.advance(1)
    await products.add_review(phone.id, ReviewInput(rating=2, title="Meh"), BOB)
    with pytest.raises(Conflict, match="already reviewed"):
        await products.add_review(phone.id, ReviewInput(rating=1, title="Again"), ALICE)
    rated = await products.product(phone.id)
    assert (rated.rating, rated.review_count) == (3.5, 2)
    assert [r.title for r in await products.reviews(phone.id)] == ["Meh", "Great"]


async def test_a_review_of_an_unknown_product_is_a_not_found(products: ProductService) -> None:
    with pytest.raises(NotFound):
        await products.add_review("nope", ReviewInput(rating=4, title="Hm"), ALICE)


@pytest.mark.parametrize("rating", [0, 6])
def test_ratings_outside_one_to_five_are_refused(rating: int) -> None:
    with pytest.raises(ValidationError, match="rating"):
        ReviewInput(rating=rating, title="x")


async def test_a_confirmed_order_counts_as_sold_once_and_leaves_stock_alone(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    items = [{"product_id": phone.id, "quantity": 2}]
    assert await products.record_sale("order-1", items)
    assert not await products.record_sale("order-1", items)
    after = await products.product(phone.id)
    assert (after.sold, after.stock) == (2, 5)
    popular = await products.page(None, ProductSort.POPULAR, 1)
    assert popular.items[0].id == phone.id


async def test_a_cancelled_order_takes_its_units_back_out_of_sold_once(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    await products.record_sale("order-1", [{"product_id": phone.id, "quantity": 2}])
    await products.record_sale("order-2", [{"product_id": phone.id, "quantity": 1}])
    assert await products.reverse_sale("order-1")
    assert not await products.reverse_sale("order-1"), "a redelivered cancellation"
    assert (await products.product(phone.id)).sold == 1


async def test_a_cancellation_seen_before_its_confirmation_leaves_sold_untouched(
    products: ProductService,
) -> None:
    phone = await make(products, "PHN-1", stock=5)
    assert not await products.reverse_sale("order-1")
    assert not await products.record_sale("order-1", [{"product_id": phone.id, "quantity": 2}])
    assert (await products.product(phone.id)).sold == 0
