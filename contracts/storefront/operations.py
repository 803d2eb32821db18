"""The GraphQL operations a shop front sends to the gateway, exactly as it sends them.

Each selects what its page renders and nothing more: a consumer pact then asks the gateway
for no field the shop front could do without.
"""

from __future__ import annotations

CATALOG_PAGE = """query CatalogPage(
  $slug: String!, $first: Int!, $after: String, $filter: ProductFilter
) {
  category(slug: $slug) {
    id
    name
    breadcrumbs { id name slug }
    products(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id name price { formatted } inStock }
    }
  }
}"""

PRODUCT_PAGE = """query ProductPage($id: ID!, $reviews: Int!) {
  product(id: $id) {
    id
    name
    description
    price { formatted }
    available
    category { id name breadcrumbs { id name slug } }
    reviews(first: $reviews) { id rating title author { id name } }
  }
}"""

LOGIN = """mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken
    user { id name }
  }
}"""

CHECKOUT = """mutation Checkout($input: CreateOrderInput!) {
  createOrder(input: $input) {
    id
    status
    failureReason
    total { formatted }
  }
}"""

MY_ORDERS = """query MyOrders($limit: Int!, $offset: Int!) {
  orders(limit: $limit, offset: $offset) {
    id
    status
    total { formatted }
  }
}"""
