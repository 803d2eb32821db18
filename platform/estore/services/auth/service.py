"""Auth use cases: register, log in, rotate refresh tokens, log out, read accounts."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from estore.kit.clock import Clock
from estore.kit.errors import NotFound, TooManyRequests, Unauthorized
from estore.kit.events import EventBus
from estore.kit.identity import Caller, Revocations, Role, TokenIssuer
from estore.kit.ids import new_id
from estore.kit.ratelimit import Backoff, BackoffPolicy, Limit, RateLimiter
from estore.services.auth.events import user_registered
from estore.services.auth.models import (
    Credentials,
    PublicUser,
    Registration,
    Session,
    TokenPair,
    User,
    email_key,
)
from estore.services.auth.repository import AuthRepository
from estore.services.auth.settings import AuthSettings

BAD_CREDENTIALS = "email or password is wrong"
log = structlog.get_logger()


def _hash_secret(secret: str) -> str:
    # Refresh secrets are 256 random bits, so a fast hash is enough: no guessing to slow down.
    return hashlib.sha256(secret.encode()).hexdigest()


def _split_refresh_token(token: str) -> tuple[str, str]:
    session_id, _, secret = token.partition(".")
    if not session_id or not secret:
        raise Unauthorized("refresh token is malformed")
    return session_id, secret


def _pair(account: str, client: str) -> str:
    return f"pair:{account}:{client}"


class AuthService:
    def __init__(
        self,
        repo: AuthRepository,
        issuer: TokenIssuer,
        limiter: RateLimiter,
        backoff: Backoff,
        revocations: Revocations,
        bus: EventBus,
        clock: Clock,
        settings: AuthSettings,
    ) -> None:
        self._repo = repo
        self._issuer = issuer
        self._limiter = limiter
        self._backoff = backoff
        self._revocations = revocations
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        # A real hash to verify against when the account is unknown, so timing tells nothing.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._pair_backoff = BackoffPolicy(
            free_failures=settings.login_attempts_per_account,
            base_seconds=settings.login_backoff_base_seconds,
            max_seconds=settings.login_backoff_max_seconds,
            memory_seconds=settings.login_account_window_seconds,
        )
        self._client_limit = Limit(
            settings.login_attempts_per_client, settings.login_client_window_seconds
        )

    @property
    def issuer(self) -> TokenIssuer:
        return self._issuer

    async def register(self, form: Registration, roles: list[Role] | None = None) -> TokenPair:
        now = self._clock.now()
        password_hash = await asyncio.to_thread(self._hasher.hash, form.password)
        user = User(
            _id=new_id(),
            email=form.email,
            email_key=email_key(form.email),
            name=form.name,
            password_hash=password_hash,
            roles=roles or [Role.CUSTOMER],
            created_at=now,
            updated_at=now,
        )
        await self._repo.add_user(user)
        await self._bus.emit(user_registered(user))
        return await self._open_session(user)

    async def login(self, credentials: Credentials, client: str) -> TokenPair:
        account = email_key(credentials.email)
        await self._check_limits(account, client)
        user = await self._repo.user_by_email_key(account)
        matches = await self._password_matches(user, credentials.password)
        if user is None or not matches:
            log.info("auth.login_failed", known_account=user is not None)
            await self._backoff.fail(_pair(account, client), self._pair_backoff)
            raise Unauthorized(BAD_CREDENTIALS)
        await self._backoff.clear(_pair(account, client))
        return await self._open_session(user)

    async def refresh(self, token: str) -> TokenPair:
        session_id, secret = _split_refresh_token(token)
        presented = _hash_secret(secret)
        session = await self._repo.session(session_id)
        if session is None:
            raise Unauthorized("refresh token is not valid")
        if presented in session.retired_hashes:
            # A rotated-away token came back: it was stolen or replayed. End the whole session.
            log.warning("auth.refresh_reuse", session_id=session.id, user_id=session.user_id)
            await self._end(session.id, "refresh token reused")
            raise Unauthorized("refresh token was already used; the session is revoked")
        self._require_live(session, presented)
        user = await self._repo.user_by_id(session.user_id)
        if user is None:
            raise Unauthorized("the account no longer exists")
        new_secret = secrets.token_urlsafe(32)
        if not await self._repo.rotate(session.id, presented, _hash_secret(new_secret)):
            raise Unauthorized("refresh token was already used")
        return self._token_pair(user, session.id, new_secret)

    async def logout(self, token: str) -> None:
        session_id, secret = _split_refresh_token(token)
        session = await self._repo.session(session_id)
        if session is None or session.refresh_hash != _hash_secret(secret):
            raise Unauthorized("refresh token is not valid")
        await self._end(session.id, "logged out")

    async def me(self, caller: Caller) -> PublicUser:
        return await self.user(caller.user_id)

    async def user(self, user_id: str) -> PublicUser:
        user = await self._repo.user_by_id(user_id)
        if user is None:
            raise NotFound(f"user {user_id} does not exist")
        return PublicUser.of(user)

    async def _check_limits(self, account: str, client: str) -> None:
        # Counted per account and client, not per account: a stranger's wrong guesses must
        # not lock the owner out. The per-client window bounds one client spraying accounts.
        blocked = await self._backoff.wait_for(_pair(account, client))
        if blocked is None:
            blocked = await self._limiter.hit(f"client:{client}", self._client_limit)
        if blocked is not None:
            raise TooManyRequests(
                f"too many login attempts; try again in {blocked} s", retry_after=blocked
            )

    async def _password_matches(self, user: User | None, password: str) -> bool:
        stored = user.password_hash if user else self._decoy_hash
        try:
            return await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _end(self, session_id: str, why: str) -> None:
        """End a session: no more refreshes, and its access tokens refused until they expire."""
        now = self._clock.now()
        await self._repo.revoke(session_id, now, why)
        last_expiry = now + timedelta(seconds=self._settings.jwt_access_ttl_seconds)
        await self._revocations.revoke(session_id, last_expiry)

    def _require_live(self, session: Session, presented: str) -> None:
        if session.revoked_at is not None:
            raise Unauthorized("the session has ended; log in again")
        if session.expires_at <= self._clock.now():
            raise Unauthorized("refresh token has expired; log in again")
        if session.refresh_hash != presented:
            raise Unauthorized("refresh token is not valid")

    async def _open_session(self, user: User) -> TokenPair:
        now = self._clock.now()
        secret = secrets.token_urlsafe(32)
        session = Session(
            _id=new_id(),
            user_id=user.id,
            refresh_hash=_hash_secret(secret),
            created_at=now,
            expires_at=now + timedelta(seconds=self._settings.jwt_refresh_ttl_seconds),
        )
        await self._repo.add_session(session)
        return self._token_pair(user, session.id, secret)

    def _token_pair(self, user: User, session_id: str, secret: str) -> TokenPair:
        caller = Caller(user_id=user.id, email=user.email, roles=frozenset(user.roles))
        return TokenPair(
            access_token=self._issuer.issue_access_token(caller, session_id),
            refresh_token=f"{session_id}.{secret}",
            expires_in=self._settings.jwt_access_ttl_seconds,
            user=PublicUser.of(user),
        )
