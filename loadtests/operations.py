"""The GraphQL operations a storefront client sends to the gateway, named as a client names them.

Plain strings (no Locust): the gateway caches plans by document, so a real client sends the
same few documents over and over; so do these users.
"""

from __future__ import annotations

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken user { id name } }
}"""

PRODUCTS = """
query Products($first: Int, $after: String) {
  products(first: $first, after: $after) {
    edges { node { id name price { amount currency } available } }
    pageInfo { hasNextPage endCursor }
  }
}"""

SEARCH = """
query Search($text: String!, $first: Int) {
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
query MyOrders { orders(limit: 5) { id status total { amount } } }"""
