"""Sessions ended before their access tokens expire: a deny-list of session ids in Redis.

Access tokens are checked by signature alone, so a token taken before a logout would work
until its `exp`. Logging out puts the session's id (the tokens' `sid` claim) here for as long
as any of its access tokens can live; every bearer check at the edge looks it up.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from estore.kit.clock import Clock

PREFIX = "identity:revoked:"
log = logging.getLogger(__name__)


class Revocations:
    def __init__(self, redis: aioredis.Redis, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock

    async def revoke(self, session_id: str, until: datetime) -> None:
        """Deny the session's tokens until `until` (when the last of them expires)."""
        seconds = max(1, math.ceil((until - self._clock.now()).total_seconds()))
        await self._redis.set(f"{PREFIX}{session_id}", b"1", ex=seconds)

    async def is_revoked(self, session_id: str) -> bool:
        """True when the session was ended. Redis away answers False, logged: a Redis outage
        must not log everyone out, and the token still expires on its own."""
        try:
            return bool(await self._redis.exists(f"{PREFIX}{session_id}"))
        except (RedisError, OSError) as exc:
            log.warning("revocation list unreadable; token accepted: %s", exc)
            return False
