"""The order service as the ticket service sees it: is an order the caller's own."""

from __future__ import annotations

from estore.kit.clients import DependencyError, ServiceClient
from estore.kit.errors import Unavailable
from estore.kit.identity import Caller, InternalIdentity, acting_as


class OrderPeer:
    def __init__(self, client: ServiceClient, internal: InternalIdentity) -> None:
        self._client = client
        self._internal = internal

    async def owns(self, caller: Caller, order_id: str) -> bool:
        """Ask the order service, as the caller, whether the order is theirs."""
        try:
            with acting_as(caller, self._internal):
                response = await self._client.get(f"/api/v1/orders/{order_id}")
        except DependencyError:
            raise Unavailable(
                "the order service is not answering, so the order cannot be checked; "
                "nothing was stored, try again shortly"
            ) from None
        if response.status_code in (200, 404):
            return response.status_code == 200
        raise Unavailable(
            f"the order service answered {response.status_code} while checking order "
            f"{order_id}; nothing was stored, try again shortly"
        )
