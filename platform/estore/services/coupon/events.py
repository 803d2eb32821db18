"""Events the coupon service consumes: a welcome coupon for every newly registered user."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from estore.kit.events import Event
from estore.kit.events.catalog import UserRegistered
from estore.services.coupon.service import CouponService

log = logging.getLogger(__name__)


def on_user_registered(service: CouponService) -> Callable[[Event], Awaitable[None]]:
    """Handler for `user:registered`: idempotent, one welcome coupon per user however often.

    Reads only the user's id (see the coupon <- auth message pact)."""

    async def handle(event: Event) -> None:
        user_id = event.data.get(UserRegistered.model_fields["user_id"].serialization_alias or "")
        if not isinstance(user_id, str) or not user_id:
            # Retrying cannot fix a payload without a user: note it and move on.
            log.warning("user:registered without userId", extra={"event_id": event.id})
            return
        await service.issue_welcome(user_id, event.time)

    return handle
