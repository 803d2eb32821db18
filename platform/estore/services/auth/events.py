"""Events the auth service publishes: user:registered."""

from __future__ import annotations

from estore.kit.events.catalog import UserRegistered
from estore.services.auth.models import User


def user_registered(user: User) -> UserRegistered:
    return UserRegistered(
        user_id=user.id,
        email=user.email,
        name=user.name,
        registered_at=user.created_at.isoformat(),
    )
