"""A storefront client over a Locust HTTP session: the gateway's GraphQL, as a web shop sends it.
Each call is one named request (`gql <operation>`) in Locust's statistics.

A GraphQL answer with `errors` is a failed request even with HTTP 200. A checkout that ends in
a FAILED order (out of stock, declined) is a successful request: the system answered correctly.
"""

from __future__ import annotations

from typing import Any

from locust.clients import HttpSession

from loadtests import operations as ops

PAGE = 20
MAX_MESSAGE = 200


class GraphQLStorefront:
    """One signed-in (or anonymous) client; `login` keeps the token for later calls."""

    def __init__(self, session: HttpSession) -> None:
        self._session = session
        self._headers: dict[str, str] = {}

    def _call(self, name: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        body = {"operationName": name, "query": ops.OPERATIONS[name], "variables": variables}
        with self._session.post(
            "/graphql", json=body, headers=self._headers, name=f"gql {name}", catch_response=True
        ) as response:
            try:
                payload = response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code}: not JSON")
                return None
            if not isinstance(payload, dict):
                response.failure(f"HTTP {response.status_code}: not a GraphQL response")
                return None
            if payload.get("errors"):
                response.failure(_error_text(payload["errors"][0]))
                return None
            data = payload.get("data")
            if not isinstance(data, dict):
                response.failure(f"HTTP {response.status_code}: no data and no errors")
                return None
            return data

    def login(self, email: str, password: str) -> str | None:
        data = self._call("Login", {"email": email, "password": password})
        if not data:
            return None
        token: str = data["login"]["accessToken"]
        self._headers = {"Authorization": f"Bearer {token}"}
        return token

    def products(self, after: str | None = None) -> tuple[list[str], str | None]:
        data = self._call("Products", {"first": PAGE, "after": after})
        if not data:
            return [], None
        page = data["products"]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
        return [edge["node"]["id"] for edge in page["edges"]], cursor

    def search(self, text: str) -> list[str]:
        data = self._call("Search", {"text": text, "first": PAGE})
        return [e["node"]["id"] for e in data["products"]["edges"]] if data else []

    def product(self, product_id: str, name: str = "Product") -> dict[str, Any] | None:
        """The product page (or the cart's lighter check); None when it failed or is gone."""
        data = self._call(name, {"id": product_id})
        return data.get("product") if data else None

    def categories(self) -> None:
        self._call("Categories", {})

    def checkout(self, order: dict[str, Any]) -> dict[str, Any] | None:
        """The order as `createOrder` returned it (status, failureReason, ...)."""
        data = self._call("CreateOrder", {"input": ops.camel(order)})
        return data.get("createOrder") if data else None

    def my_orders(self, limit: int = 5) -> list[dict[str, Any]]:
        data = self._call("MyOrders", {"limit": limit})
        return list(data["orders"]) if data else []

    def restock(self, product_id: str, quantity: int) -> dict[str, Any] | None:
        data = self._call("Restock", {"id": product_id, "quantity": quantity})
        return data.get("restockProduct") if data else None

    def create_coupon(self, coupon: dict[str, Any]) -> dict[str, Any] | None:
        data = self._call("CreateCoupon", {"input": ops.camel(coupon)})
        return data.get("createCoupon") if data else None


def _error_text(error: dict[str, Any]) -> str:
    """The first error as a failure line: the subgraph's own code when the gateway passes one."""
    extensions = error.get("extensions") or {}
    code = extensions.get("code") or "error"
    where = f" ({extensions['serviceName']})" if extensions.get("serviceName") else ""
    return f"{code}{where}: {str(error.get('message', ''))[:MAX_MESSAGE]}"
