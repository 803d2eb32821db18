"""The category service as the product service sees it: does a category exist, what is under it."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

from estore.kit.clients import DependencyError, ServiceClient
from estore.kit.errors import Unavailable


class CategoryDirectory(Protocol):
    async def subtree(self, category_id: str) -> list[str] | None:
        """The category's id and all its descendants' ids; None when there is no such category."""


class CategoryPeer:
    """Reads the category service over its REST route, through the kit's resilient client."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def subtree(self, category_id: str) -> list[str] | None:
        try:
            # Ids come from clients: quoted, so one cannot reach another path of the service.
            path = f"/api/v1/categories/{quote(category_id, safe='')}/subtree"
            response = await self._client.get(path)
        except DependencyError as exc:
            raise Unavailable(f"the category service is unavailable: {exc.reason}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unavailable(f"the category service answered {response.status_code}")
        ids: list[str] = response.json()["ids"]
        return ids
