"""The product service as the category service sees it: how many products a category holds."""

from __future__ import annotations

from typing import Protocol

from estore.kit.clients import DependencyError, ServiceClient
from estore.kit.errors import Unavailable


class ProductCounter(Protocol):
    async def count(self, category_id: str) -> int:
        """Products filed directly under the category."""


class ProductPeer:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def count(self, category_id: str) -> int:
        try:
            response = await self._client.get(
                "/api/v1/products/count", params={"category_id": category_id}
            )
        except DependencyError as exc:
            raise Unavailable(f"the product service is unavailable: {exc.reason}") from exc
        if response.status_code != 200:
            raise Unavailable(f"the product service answered {response.status_code}")
        return int(response.json()["count"])
