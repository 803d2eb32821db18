"""Auth store access: users and sessions in auth_db."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from estore.kit.errors import Conflict
from estore.services.auth.models import Session, User


class AuthRepository:
    def __init__(self, db: Any) -> None:
        self._users = db["users"]
        self._sessions = db["sessions"]

    async def ensure_indexes(self) -> None:
        await self._users.create_index("email_key", unique=True)
        await self._sessions.create_index("user_id")

    async def add_user(self, user: User) -> None:
        try:
            await self._users.insert_one(user.model_dump(by_alias=True))
        except DuplicateKeyError as exc:
            raise Conflict("an account with this email already exists") from exc

    async def user_by_id(self, user_id: str) -> User | None:
        doc = await self._users.find_one({"_id": user_id})
        return User.model_validate(doc) if doc else None

    async def user_by_email_key(self, key: str) -> User | None:
        doc = await self._users.find_one({"email_key": key})
        return User.model_validate(doc) if doc else None

    async def add_session(self, session: Session) -> None:
        await self._sessions.insert_one(session.model_dump(by_alias=True))

    async def session(self, session_id: str) -> Session | None:
        doc = await self._sessions.find_one({"_id": session_id})
        return Session.model_validate(doc) if doc else None

    async def rotate(self, session_id: str, old_hash: str, new_hash: str) -> bool:
        """Swap the refresh hash only if it is still `old_hash`: two racing refreshes, one wins."""
        result = await self._sessions.update_one(
            {"_id": session_id, "refresh_hash": old_hash, "revoked_at": None},
            {"$set": {"refresh_hash": new_hash}, "$push": {"retired_hashes": old_hash}},
        )
        return bool(result.modified_count)

    async def revoke(self, session_id: str, at: datetime, reason: str) -> None:
        await self._sessions.update_one(
            {"_id": session_id, "revoked_at": None},
            {"$set": {"revoked_at": at, "revoked_reason": reason}},
        )
