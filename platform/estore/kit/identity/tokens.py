"""Access tokens: auth issues Ed25519-signed JWTs; gateway and services verify them by JWKS."""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jwt

from estore.kit.clock import Clock
from estore.kit.identity.caller import Caller, IdentityRefused, KeysUnavailable
from estore.kit.identity.keys import ALGORITHM, KeyRing
from estore.kit.identity.revocations import Revocations

log = logging.getLogger(__name__)

FetchJwks = Callable[[], Awaitable[Mapping[str, Any]]]

# Clock skew between hosts, tolerated on exp, iat and nbf.
DEFAULT_LEEWAY_SECONDS = 10.0
_SOURCE = "bearer token"


class TokenIssuer:
    """Signs access tokens with the key ring's current key; time comes from the clock."""

    def __init__(
        self, keys: KeyRing, issuer: str, audience: str, clock: Clock, access_ttl: float
    ) -> None:
        """`access_ttl` is in seconds (settings' `jwt_access_ttl_seconds`)."""
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._ttl = access_ttl

    @property
    def keys(self) -> KeyRing:
        return self._keys

    def rotate_to(self, keys: KeyRing) -> None:
        self._keys = keys

    def issue_access_token(self, caller: Caller, session_id: str | None = None) -> str:
        """A token for `caller`; `session_id` (claim `sid`) lets a logout revoke it early."""
        issued_at = math.floor(self._clock.now().timestamp())
        claims = {
            **caller.claims(),
            **({"sid": session_id} if session_id else {}),
            "iat": issued_at,
            "exp": issued_at + math.ceil(self._ttl),
            "iss": self._issuer,
            "aud": self._audience,
            "jti": secrets.token_urlsafe(16),
        }
        signing = self._keys.signing
        return jwt.encode(
            claims, signing.private_key, algorithm=ALGORITHM, headers={"kid": signing.kid}
        )


class JwksVerifier:
    """Verifies access tokens against the issuer's JWKS, cached and refreshed on demand.

    The set is refetched when it is older than `cache_seconds` or a token names an unknown
    kid, but never twice within `min_refresh_interval` seconds, so a flood of tokens with
    made-up kids costs auth at most one fetch per interval. If a refresh fails, the keys
    already held keep verifying: an auth outage must not log everyone out.
    """

    def __init__(
        self,
        fetch_jwks: FetchJwks,
        issuer: str,
        audience: str,
        clock: Clock,
        cache_seconds: float = 300.0,
        min_refresh_interval: float = 10.0,
        leeway_seconds: float = DEFAULT_LEEWAY_SECONDS,
        revocations: Revocations | None = None,
    ) -> None:
        self._fetch = fetch_jwks
        self._revocations = revocations
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._leeway = leeway_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._refresh_lock = asyncio.Lock()

    async def verify(self, token: str) -> Caller:
        kid = _trusted_header_kid(token)
        key = await self._key_for(kid)
        claims = self._decode(token, key)
        self._check_times(claims)
        await self._check_not_revoked(claims)
        return Caller.from_claims(claims, source=_SOURCE)

    async def _check_not_revoked(self, claims: Mapping[str, Any]) -> None:
        session_id = claims.get("sid")
        if self._revocations is None or not isinstance(session_id, str):
            return
        if await self._revocations.is_revoked(session_id):
            raise IdentityRefused("bearer token: its session has ended (logged out)")

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        if self._is_stale() or kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise IdentityRefused(f"{_SOURCE}: unknown key id {kid[:64]!r}")
        return key

    def _is_stale(self) -> bool:
        if self._fetched_at is None:
            return True
        return self._clock.monotonic() - self._fetched_at >= self._cache_seconds

    def _may_fetch(self) -> bool:
        if self._last_attempt is None:
            return True
        return self._clock.monotonic() - self._last_attempt >= self._min_refresh_interval

    async def _refresh(self) -> None:
        # One fetch at a time; whoever waited behind it finds the interval not yet passed.
        async with self._refresh_lock:
            if not self._may_fetch():
                self._raise_if_keyless()
                return
            self._last_attempt = self._clock.monotonic()
            try:
                keys = _parse_jwks(await self._fetch())
            except Exception as exc:
                log.warning("jwks refresh failed, keeping %d keys: %r", len(self._keys), exc)
                self._raise_if_keyless()
                return
            self._keys = keys
            self._fetched_at = self._last_attempt

    def _raise_if_keyless(self) -> None:
        if not self._keys:
            raise KeysUnavailable("no token verification keys: the JWKS could not be fetched")

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        # PyJWT checks exp/iat against the system clock; times are checked here instead.
        options: Any = {
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "require": ["exp", "iat", "iss", "aud", "sub"],
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options=options,
            )
        except jwt.InvalidSignatureError:
            raise IdentityRefused(f"{_SOURCE}: bad signature") from None
        except jwt.InvalidIssuerError:
            raise IdentityRefused(f"{_SOURCE}: wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise IdentityRefused(f"{_SOURCE}: wrong audience") from None
        except jwt.InvalidTokenError as exc:
            raise IdentityRefused(f"{_SOURCE}: {exc}") from None
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock.now().timestamp()
        if now >= _numeric_date(claims, "exp") + self._leeway:
            raise IdentityRefused(f"{_SOURCE}: expired")
        if _numeric_date(claims, "iat") > now + self._leeway:
            raise IdentityRefused(f"{_SOURCE}: issued in the future")
        if "nbf" in claims and _numeric_date(claims, "nbf") > now + self._leeway:
            raise IdentityRefused(f"{_SOURCE}: not yet valid")


def _trusted_header_kid(token: str) -> str:
    """Read the header, refusing any algorithm but ours before a key is even looked up.

    An allow-list of one closes `alg: none` and HS256-keyed-with-the-public-key confusion.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise IdentityRefused(f"{_SOURCE}: malformed") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise IdentityRefused(f"{_SOURCE}: algorithm {str(alg)[:16]!r} not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise IdentityRefused(f"{_SOURCE}: no key id")
    return kid


def _parse_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """Usable signing keys by kid; keys of other types or algorithms are left out."""
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("JWKS has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(dict(entry))
        except jwt.PyJWTError:
            continue
        if key.algorithm_name == ALGORITHM:
            keys[entry["kid"]] = key
    return keys


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdentityRefused(f"{_SOURCE}: claim {name!r} is not a number")
    return float(value)
