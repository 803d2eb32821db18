"""Service-to-service identity: the caller forwarded in `X-Estore-Caller`, HMAC-signed.

Format: `v1.<base64url(JSON claims + iat)>.<base64url(HMAC-SHA256 over "v1.<payload>")>`.
A value is a short-lived bearer assertion: anyone who reads one may replay it until it is
`max_age_seconds` old, so it only travels between services on the internal network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from typing import Any

from estore.kit.clock import Clock
from estore.kit.identity.caller import Caller, IdentityRefused
from estore.kit.identity.keys import b64url

CALLER_HEADER = "X-Estore-Caller"
# The end client's address as the edge saw it: rate limits key on it, so it is signed too.
CLIENT_HEADER = "X-Estore-Client"

_VERSION = "v1"
_CLIENT_VERSION = "c1"
_SOURCE = "internal identity"
MIN_KEY_BYTES = 32
# A real value is a few hundred bytes; refusing huge ones early keeps forgeries cheap.
_MAX_VALUE_CHARS = 4096
# Tolerated skew between the clocks of the signing and the verifying service.
_FUTURE_LEEWAY_SECONDS = 5.0


class InternalIdentity:
    """Signs and verifies the forwarded caller with a key shared by all services."""

    def __init__(self, key: bytes, clock: Clock, max_age_seconds: float) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"internal signing key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self._clock = clock
        self._max_age = max_age_seconds

    def sign(self, caller: Caller) -> str:
        return self._signed(_VERSION, caller.claims())

    def verify(self, value: str) -> Caller:
        payload = self._authentic_payload(value, _VERSION)
        claims = _decode_claims(payload)
        self._check_age(claims)
        return Caller.from_claims(claims, source=_SOURCE)

    def sign_client(self, address: str) -> str:
        """The client's address for `CLIENT_HEADER`; its own version, so never a caller."""
        return self._signed(_CLIENT_VERSION, {"addr": address})

    def verify_client(self, value: str) -> str:
        """The address a `sign_client` value carries; IdentityRefused when forged or old."""
        claims = _decode_claims(self._authentic_payload(value, _CLIENT_VERSION))
        self._check_age(claims)
        address = claims.get("addr")
        if not isinstance(address, str) or not address:
            raise IdentityRefused(f"{_SOURCE}: malformed client address")
        return address

    def _signed(self, version: str, claims: dict[str, Any]) -> str:
        claims = {**claims, "iat": math.floor(self._clock.now().timestamp())}
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signed = f"{version}.{payload}"
        return f"{signed}.{b64url(self._mac(signed))}"

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode("ascii"), hashlib.sha256).digest()

    def _authentic_payload(self, value: str, version: str) -> str:
        """The payload part, once the MAC over it has been checked in constant time."""
        if len(value) > _MAX_VALUE_CHARS or not value.isascii():
            raise IdentityRefused(f"{_SOURCE}: malformed")
        parts = value.split(".")
        if len(parts) != 3 or parts[0] != version or not parts[1]:
            raise IdentityRefused(f"{_SOURCE}: malformed")
        if not parts[2]:
            raise IdentityRefused(f"{_SOURCE}: unsigned")
        try:
            given = _b64decode(parts[2])
        except ValueError:
            raise IdentityRefused(f"{_SOURCE}: malformed signature") from None
        if not hmac.compare_digest(self._mac(f"{parts[0]}.{parts[1]}"), given):
            raise IdentityRefused(f"{_SOURCE}: bad signature")
        return parts[1]

    def _check_age(self, claims: dict[str, Any]) -> None:
        issued_at = claims.get("iat")
        if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
            raise IdentityRefused(f"{_SOURCE}: malformed issued-at")
        age = self._clock.now().timestamp() - issued_at
        if age > self._max_age:
            raise IdentityRefused(f"{_SOURCE}: expired ({age:.0f}s old)")
        if age < -_FUTURE_LEEWAY_SECONDS:
            raise IdentityRefused(f"{_SOURCE}: issued in the future")


def _decode_claims(payload: str) -> dict[str, Any]:
    try:
        claims = json.loads(_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        raise IdentityRefused(f"{_SOURCE}: malformed payload") from None
    if not isinstance(claims, dict):
        raise IdentityRefused(f"{_SOURCE}: malformed payload")
    return claims


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
