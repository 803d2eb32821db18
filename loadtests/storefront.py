"""A storefront client over a Locust HTTP session: the gateway's GraphQL when it is served,
the services' REST otherwise. Each call is one named request in Locust's statistics.

A GraphQL answer with `errors` is a failed request even with HTTP 200. A checkout that ends in
a FAILED order (out of stock, declined) is a successful request: the system answered correctly.
"""

from __future__ import annotations

from typing import Any, Protocol

from locust.clients import HttpSession

from loadtests import operations as ops

PAGE = 20


class Storefront(Protocol):
    def login(self, email: str, password: str) -> str | None: ...
    def products(self, after: str | None = None) -> tuple[list[str], str | None]: ...
    def search(self, text: str) -> list[str]: ...
    def product(self, product_id: str, name: str = "Product") -> dict[str, Any] | None: ...
    def categories(self) -> None: ...
    def checkout(self, order: dict[str, Any]) -> dict[str, Any] | None: ...


class GraphQLStorefront:
    def __init__(self, session: HttpSession) -> None:
        self._session = session
        self._headers: dict[str, str] = {}

    def _call(self, name: str, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        body = {"operationName": name, "query": query, "variables": variables}
        with self._session.post(
            "/graphql", json=body, headers=self._headers, name=f"gql {name}", catch_response=True
        ) as response:
            try:
                payload = response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code}: not JSON")
                return None
            if payload.get("errors"):
                first = payload["errors"][0]
                code = (first.get("extensions") or {}).get("code", "error")
                response.failure(f"{code}: {first.get('message', '')[:200]}")
                return None
            data: dict[str, Any] = payload.get("data") or {}
            return data

    def login(self, email: str, password: str) -> str | None:
        data = self._call("Login", ops.LOGIN, {"email": email, "password": password})
        if not data:
            return None
        token: str = data["login"]["accessToken"]
        self._headers = {"Authorization": f"Bearer {token}"}
        return token

    def products(self, after: str | None = None) -> tuple[list[str], str | None]:
        data = self._call("Products", ops.PRODUCTS, {"first": PAGE, "after": after})
        if not data:
            return [], None
        page = data["products"]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
        return [edge["node"]["id"] for edge in page["edges"]], cursor

    def search(self, text: str) -> list[str]:
        data = self._call("Search", ops.SEARCH, {"text": text, "first": PAGE})
        return [e["node"]["id"] for e in data["products"]["edges"]] if data else []

    def product(self, product_id: str, name: str = "Product") -> dict[str, Any] | None:
        query = ops.CART_CHECK if name == "CartCheck" else ops.PRODUCT
        data = self._call(name, query, {"id": product_id})
        return data.get("product") if data else None

    def categories(self) -> None:
        self._call("Categories", ops.CATEGORIES, {})

    def checkout(self, order: dict[str, Any]) -> dict[str, Any] | None:
        data = self._call("CreateOrder", ops.CREATE_ORDER, {"input": _camel(order)})
        return data.get("createOrder") if data else None


class RestStorefront:
    """The same client over each service's REST API, for a cluster served without a gateway."""

    def __init__(self, session: HttpSession, urls: dict[str, str]) -> None:
        self._session = session
        self._urls = urls
        self._headers: dict[str, str] = {}

    def _request(
        self, method: str, service: str, path: str, name: str, **kwargs: Any
    ) -> Any | None:
        url = f"{self._urls[service]}/api/v1{path}"
        with self._session.request(
            method, url, name=f"rest {name}", headers=self._headers, catch_response=True, **kwargs
        ) as response:
            if response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return None
            return response.json() if response.content else {}

    def login(self, email: str, password: str) -> str | None:
        body = {"email": email, "password": password}
        pair = self._request("POST", "auth", "/auth/login", "Login", json=body)
        if not pair:
            return None
        self._headers = {"Authorization": f"Bearer {pair['access_token']}"}
        return str(pair["access_token"])

    def products(self, after: str | None = None) -> tuple[list[str], str | None]:
        params: dict[str, Any] = {"first": PAGE} | ({"after": after} if after else {})
        page = self._request("GET", "product", "/products", "Products", params=params)
        if not page:
            return [], None
        return [p["id"] for p in page["items"]], page.get("next_cursor")

    def search(self, text: str) -> list[str]:
        params = {"text": text, "first": PAGE}
        page = self._request("GET", "product", "/products", "Search", params=params)
        return [p["id"] for p in page["items"]] if page else []

    def product(self, product_id: str, name: str = "Product") -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._request(
            "GET", "product", f"/products/{product_id}", name
        )
        return found

    def categories(self) -> None:
        self._request("GET", "category", "/categories", "Categories")

    def checkout(self, order: dict[str, Any]) -> dict[str, Any] | None:
        placed: dict[str, Any] | None = self._request(
            "POST", "order", "/orders", "CreateOrder", json=order
        )
        return placed


def _camel(value: Any) -> Any:
    """REST's snake_case body as GraphQL input field names."""
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def storefront_for(session: HttpSession, fixtures: dict[str, Any]) -> Storefront:
    if fixtures.get("api") == "graphql":
        return GraphQLStorefront(session)
    return RestStorefront(session, fixtures["urls"])
