"""The category service as the product service sees it: does a category exist, what is under it."""

from __future__ import annotations

from typing import Protocol

from estore.kit.clients import DependencyError, ServiceClient
from estore.kit.errors import Unavailable


class CategoryDirectory(Protocol):
    async def subtree(self, category_id: str) -> list[str] | None:
        """The category's id and all its descendants' ids; None when there is no such category."""


class CategoryClient:
    """Reads the category service over its REST route, through the kit's resilient client."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def subtree(self, category_id: str) -> list[str] | None:
        try:
            response = await self._client.get(f"/api/v1/categories/{category_id}/subtree")
        except DependencyError as exc:
            raise Unavailable(f"the category service is unavailable: {exc.reason}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unavailable(f"the category service answered {response.status_code}")
        ids: list[str] = response.json()["ids"]
        return ids
