"""The GraphQL operations a storefront client sends to the gateway, named as a client names them.

Plain strings (no Locust): the gateway caches plans by document, so a real client sends the
same few documents over and over; so do these users. `problems()` checks them against a
composed schema, so a run refuses to start on documents the gateway would reject.
"""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, build_client_schema, parse, validate

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken user { id name } }
}"""

PRODUCTS = """
query Products($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    edges { node { id name price { amount currency } available } }
    pageInfo { hasNextPage endCursor }
  }
}"""

SEARCH = """
query Search($text: String!, $first: Int!) {
  products(filter: { text: $text }, first: $first) {
    edges { node { id name price { amount currency } } }
  }
}"""

PRODUCT = """
query Product($id: ID!) {
  product(id: $id) {
    id name description price { amount currency } available
    category { id name }
    reviews(first: 5) { rating title }
  }
}"""

CART_CHECK = """
query CartCheck($id: ID!) {
  product(id: $id) { id name price { amount currency } available }
}"""

CATEGORIES = """
query Categories { categories { id name children { id name } } }"""

CREATE_ORDER = """
mutation CreateOrder($input: CreateOrderInput!) {
  createOrder(input: $input) {
    id status failureReason total { amount currency } discount { amount }
  }
}"""

MY_ORDERS = """
query MyOrders($limit: Int!) { orders(limit: $limit) { id status total { amount } } }"""

RESTOCK = """
mutation Restock($id: ID!, $quantity: Int!) {
  restockProduct(id: $id, quantity: $quantity) { id stock available }
}"""

CREATE_COUPON = """
mutation CreateCoupon($input: CreateCouponInput!) {
  createCoupon(input: $input) { id code maxRedemptions }
}"""

# Request names in Locust's statistics are "gql <operation name>".
OPERATIONS = {
    "Login": LOGIN,
    "Products": PRODUCTS,
    "Search": SEARCH,
    "Product": PRODUCT,
    "CartCheck": CART_CHECK,
    "Categories": CATEGORIES,
    "CreateOrder": CREATE_ORDER,
    "MyOrders": MY_ORDERS,
    "Restock": RESTOCK,
    "CreateCoupon": CREATE_COUPON,
}


def problems(introspection: dict[str, Any]) -> list[str]:
    """Why the gateway would reject any of the documents, given its introspection `data`."""
    schema = build_client_schema(introspection)  # type: ignore[arg-type]
    found = []
    for name, document in OPERATIONS.items():
        parsed = parse(document)
        declared = [
            d.name.value if d.name else ""
            for d in parsed.definitions
            if isinstance(d, OperationDefinitionNode)
        ]
        if declared != [name]:
            found.append(f"{name}: the document names its operation {declared}")
        found += [f"{name}: {error.message}" for error in validate(schema, parsed)]
    return found


def camel(value: Any) -> Any:
    """A snake_case body as GraphQL input field names (`card_number` -> `cardNumber`)."""
    if isinstance(value, dict):
        return {_camel_key(k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)
