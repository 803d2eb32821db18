"""Consumer pact storefront -> gateway: the GraphQL operations a shop front runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pact import Pact, match

from contracts.harness.messages import ID, at_least_one
from contracts.harness.pacts import PactBook, book_fixture
from contracts.storefront import operations
from contracts.storefront.client import Storefront

book = book_fixture("storefront", "gateway")

PRODUCT_ID = "9f8e7d6c5b4a40312f1e0d9c8b7a6f5e"
EMAIL = "ada@example.com"
PASSWORD = "correct horse 1"
GOOD_CARD = "4242424242424242"
JWT = r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
EXAMPLE_TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjdXN0LTEifQ.c2lnbmF0dXJl"
ORDER_STATUS = r"^(PENDING|CONFIRMED|FAILED|CANCELLED)$"


def ident(example: str = PRODUCT_ID) -> Any:
    return match.regex(example, regex=ID)


def price(example: str = "25.00 EUR") -> dict[str, Any]:
    return {"formatted": match.str(example)}


def crumb(name: str, slug: str) -> dict[str, Any]:
    return {"id": ident("5a5a5a5a5a5a45a5a5a5a5a5a5a5a5a5"), "name": match.str(name), "slug": slug}


def operation(
    book: PactBook,
    description: str,
    state: str,
    params: dict[str, Any],
    request: tuple[str, str, dict[str, Any]],
    data: dict[str, Any],
    *,
    signed_in: bool = False,
) -> Pact:
    """POST /graphql with the exact operation text and variables; `data` as the page needs it."""
    name, query, variables = request
    pact = book.new()
    interaction = (
        pact.upon_receiving(description)
        .given(state, params)
        .with_request("POST", "/graphql")
        .with_body(
            {"operationName": name, "query": query, "variables": variables}, "application/json"
        )
    )
    if signed_in:
        interaction.with_header("Authorization", match.regex(f"Bearer {EXAMPLE_TOKEN}", regex=JWT))
    interaction.will_respond_with(200).with_body({"data": data}, "application/json")
    return pact


@asynccontextmanager
async def storefront(pact: Pact, *, signed_in: bool = False) -> AsyncIterator[Storefront]:
    with pact.serve() as server:
        async with httpx.AsyncClient(base_url=str(server.url)) as http:
            yield Storefront(http, EXAMPLE_TOKEN if signed_in else None)


async def test_the_catalog_page_lists_in_stock_products_of_a_category(book: PactBook) -> None:
    variables = {"slug": "keyboards", "first": 2, "after": None, "filter": {"inStock": True}}
    data = {
        "category": {
            "id": ident("6b6b6b6b6b6b46b6a6b6b6b6b6b6b6b6"),
            "name": match.str("Keyboards"),
            "breadcrumbs": at_least_one(crumb("Keyboards", "keyboards")),
            "products": {
                "totalCount": match.int(3),
                "pageInfo": {"hasNextPage": True, "endCursor": match.str("WzE3MTcyMzUyMDBd")},
                "nodes": at_least_one(
                    {
                        "id": ident(),
                        "name": match.str("Keyboard"),
                        "price": price(),
                        "inStock": True,
                    }
                ),
            },
        }
    }
    pact = operation(
        book,
        "the catalog page of a category with more products than fit on a page",
        "three products in stock in the category keyboards under peripherals",
        {"slug": "keyboards", "parent_slug": "peripherals", "in_stock": 3},
        ("CatalogPage", operations.CATALOG_PAGE, variables),
        data,
    )
    async with storefront(pact) as shop:
        page = await shop.catalog("keyboards", first=2)
    assert page.title and page.breadcrumbs
    assert page.cards and all(card.in_stock for card in page.cards)
    assert page.next_cursor is not None
    book.record(pact)


async def test_the_product_page_shows_reviews_and_category_breadcrumbs(book: PactBook) -> None:
    data = {
        "product": {
            "id": PRODUCT_ID,
            "name": match.str("Keyboard"),
            "description": match.str("A quiet keyboard"),
            "price": price(),
            "available": match.int(5),
            "category": {
                "id": ident("6b6b6b6b6b6b46b6a6b6b6b6b6b6b6b6"),
                "name": match.str("Keyboards"),
                "breadcrumbs": [
                    crumb("Peripherals", "peripherals"),
                    crumb("Keyboards", "keyboards"),
                ],
            },
            "reviews": at_least_one(
                {
                    "id": ident("7c7c7c7c7c7c47c7a7c7c7c7c7c7c7c7"),
                    "rating": match.int(5),
                    "title": match.str("Lovely"),
                    "author": {"id": ident("3f2a9c0d8e7b4a1f9c2d3e4f5a6b7c8d"), "name": "Grace"},
                }
            ),
        }
    }
    pact = operation(
        book,
        "the product page of a reviewed product in a subcategory",
        "a product in keyboards under peripherals was reviewed by Grace",
        {"product_id": PRODUCT_ID, "reviewer": "Grace"},
        ("ProductPage", operations.PRODUCT_PAGE, {"id": PRODUCT_ID, "reviews": 5}),
        data,
    )
    async with storefront(pact) as shop:
        page = await shop.product(PRODUCT_ID)
    assert page is not None and page.can_add_to_cart
    assert len(page.breadcrumbs) >= 2
    assert page.review_lines and page.review_lines[0].endswith("by Grace")
    book.record(pact)


async def test_a_customer_logs_in_and_the_storefront_keeps_the_token(book: PactBook) -> None:
    data = {
        "login": {
            "accessToken": match.regex(EXAMPLE_TOKEN, regex=JWT.replace("Bearer ", "")),
            "user": {"id": ident("3f2a9c0d8e7b4a1f9c2d3e4f5a6b7c8d"), "name": match.str("Ada")},
        }
    }
    pact = operation(
        book,
        "a login with the right password",
        "a customer is registered",
        {"email": EMAIL, "password": PASSWORD, "name": "Ada"},
        ("Login", operations.LOGIN, {"email": EMAIL, "password": PASSWORD}),
        data,
    )
    async with storefront(pact) as shop:
        session = await shop.login(EMAIL, PASSWORD)
    assert shop.token == session.access_token
    book.record(pact)


async def test_a_signed_in_customer_checks_out_and_sees_the_order_confirmed(
    book: PactBook,
) -> None:
    order_input = {
        "items": [{"productId": PRODUCT_ID, "quantity": 1}],
        "cardNumber": GOOD_CARD,
        "idempotencyKey": "storefront-cart-0001",
    }
    data = {
        "createOrder": {
            "id": ident("0a1b2c3d4e5f40718293a4b5c6d7e8f9"),
            "status": "CONFIRMED",
            "failureReason": None,
            "total": price(),
        }
    }
    pact = operation(
        book,
        "a checkout of one product in stock paid by a good card",
        "a product is in stock",
        {"product_id": PRODUCT_ID},
        ("Checkout", operations.CHECKOUT, {"input": order_input}),
        data,
        signed_in=True,
    )
    async with storefront(pact, signed_in=True) as shop:
        placed = await shop.checkout({PRODUCT_ID: 1}, GOOD_CARD, "storefront-cart-0001")
    assert placed.status == "CONFIRMED"
    book.record(pact)


async def test_a_signed_in_customer_sees_their_orders(book: PactBook) -> None:
    data = {
        "orders": at_least_one(
            {
                "id": ident("0a1b2c3d4e5f40718293a4b5c6d7e8f9"),
                "status": match.regex("CONFIRMED", regex=ORDER_STATUS),
                "total": price(),
            }
        )
    }
    pact = operation(
        book,
        "the first page of my orders",
        "the customer has placed an order",
        {},
        ("MyOrders", operations.MY_ORDERS, {"limit": 10, "offset": 0}),
        data,
        signed_in=True,
    )
    async with storefront(pact, signed_in=True) as shop:
        orders = await shop.my_orders()
    assert orders and orders[0].status == "CONFIRMED"
    book.record(pact)
