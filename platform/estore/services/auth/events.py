"""Events the auth service publishes."""

from __future__ import annotations

from typing import Any

from estore.services.auth.models import User

USER_REGISTERED = "user:registered"


def user_registered(user: User) -> dict[str, Any]:
    """Payload v1 of `user:registered`: enough for a welcome coupon and a greeting."""
    return {
        "userId": user.id,
        "email": user.email,
        "name": user.name,
        "registeredAt": user.created_at.isoformat(),
    }
