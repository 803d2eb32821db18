"""The queries both gateways answer: entities across subgraphs, fragments, aliases, errors.

Each case names who asks (a demo account, or nobody) and whether a clean answer is expected,
so a case cannot pass by both gateways failing the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Who = Literal["customer", "admin", "anonymous"]


@dataclass(frozen=True)
class Case:
    query: str
    who: Who = "customer"
    variables: dict[str, Any] | None = None
    clean: bool = True  # no errors expected; False: at least one error expected
    checkout: bool = False  # variables: a fresh CreateOrderInput per gateway


PRODUCT_CARD = """
fragment ProductCard on Product {
  id name price { amount currency formatted } inStock
  category { id name slug }
}
"""

CASES: dict[str, Case] = {
    "a catalog page: products with category and breadcrumbs": Case(
        """{ products(first: 6, sort: NAME) {
              totalCount pageInfo { hasNextPage endCursor }
              nodes { id name price { amount formatted }
                      category { name breadcrumbs { name slug depth } } } } }""",
        who="anonymous",
    ),
    "orders to items to product to category (three subgraphs)": Case(
        """{ orders { id status total { amount currency }
              items { quantity lineTotal { amount }
                      product { name sku category { name breadcrumbs { slug } } } } } }""",
    ),
    "me to orders to products (auth, order, product)": Case(
        """{ me { id name email roles orders { status items { product { name inStock } } } } }""",
    ),
    "a category's products and back to their category (category, product, category)": Case(
        """{ categories { name children { slug
              products(first: 2, sort: NAME) {
                totalCount nodes { name category { slug } } } } } }""",
        who="anonymous",
    ),
    "named and inline fragments": Case(
        PRODUCT_CARD
        + """{ products(first: 3, sort: PRICE_ASC) { nodes { ...ProductCard
              ... on Product { sku
                category { ... on Category { depth parent { name } } } } } } }""",
        who="anonymous",
    ),
    "aliases at the root and inside entities": Case(
        """{ cheapest: products(first: 2, sort: PRICE_ASC) { nodes { title: name
              section: category { label: name trail: breadcrumbs { id } } } }
            dearest: products(first: 2, sort: PRICE_DESC) { nodes { title: name } }
            top: categories { key: slug } }""",
        who="anonymous",
    ),
    "variables, including an input object and @include/@skip": Case(
        """query Page($first: Int!, $filter: ProductFilter, $withCategory: Boolean!,
                    $lean: Boolean!) {
              products(first: $first, filter: $filter, sort: NAME) {
                nodes { name stock @skip(if: $lean)
                        category @include(if: $withCategory) { name } } } }""",
        who="anonymous",
        variables={
            "first": 4,
            "filter": {"inStock": True},
            "withCategory": True,
            "lean": False,
        },
    ),
    "__typename at the root, on entities and on shared values": Case(
        """{ __typename products(first: 2, sort: NAME) { __typename nodes { __typename
              price { __typename amount } category { __typename id } } }
            me { __typename id } }""",
    ),
    "a mutation across subgraphs: checkout then the order's products' categories": Case(
        """mutation Checkout($input: CreateOrderInput!) { createOrder(input: $input) {
              status items { quantity product { name category { name } } } } }""",
        checkout=True,
    ),
    "an admin sees every coupon and every order": Case(
        "{ coupons { code active } orders { customerId items { product { sku } } } }",
        who="admin",
    ),
    "a forbidden root field: customers may not list coupons": Case(
        "{ coupons { code } }",
        clean=False,
    ),
    "a forbidden non-null field beside a served one nulls the whole answer": Case(
        "{ categories { slug } coupons { code } }",
        clean=False,
    ),
    "a forbidden mutation in one subgraph": Case(
        'mutation { createCategory(input: {name: "Nope"}) { id } }',
        clean=False,
    ),
    "an anonymous caller asks for their orders": Case(
        "{ orders { id } }",
        who="anonymous",
        clean=False,
    ),
    "an order that does not exist": Case(
        '{ products(first: 1) { totalCount } order(id: "no-such-order") { id } }',
        clean=False,
    ),
    "a required variable left out": Case(
        "query($first: Int!) { products(first: $first) { totalCount } }",
        variables={},
        clean=False,
    ),
    "a query the schema does not allow": Case(
        "{ products(first: 1) { nodes { weight } } }",
        clean=False,
    ),
}
