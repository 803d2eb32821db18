"""Merchant credentials: the processor answers only the merchant's backend, by its secret key.

A card processor is an external system: a shopper's token means nothing to it. The merchant
(the order service) sends `Authorization: Bearer <PAYMENT_SECRET_KEY>`; during a rotation
`PAYMENT_ACCEPTED_KEYS` (comma-separated) keeps the old key working beside the new one.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from fastapi import Request

from estore.kit.errors import Forbidden, Unauthorized, Unavailable
from estore.kit.identity import Authenticator, IdentityRefused, KeysUnavailable, Role
from estore.services.payment.settings import PaymentSettings

MIN_KEY_CHARS = 32


class MerchantKeys:
    """The secret keys the processor accepts, each compared in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = tuple(key.encode() for key in keys)
        if not self._keys:
            raise ValueError("at least one merchant key is needed")

    @classmethod
    def from_settings(cls, settings: PaymentSettings) -> MerchantKeys:
        """The configured keys; SystemExit (one line) when none is set or one is too short."""
        settings.require_secrets("payment_secret_key")
        assert settings.payment_secret_key is not None
        keys = [settings.payment_secret_key.get_secret_value(), *settings.accepted_keys()]
        if any(len(key) < MIN_KEY_CHARS for key in keys):
            raise SystemExit(
                f"payment: PAYMENT_SECRET_KEY and PAYMENT_ACCEPTED_KEYS entries must be at "
                f"least {MIN_KEY_CHARS} characters (`estore secrets` prints a fresh one)"
            )
        return cls(keys)

    def accepts(self, request: Request) -> bool:
        """Whether the request carries exactly one `Authorization: Bearer <a key of ours>`."""
        values = request.headers.getlist("authorization")
        if len(values) != 1:
            return False
        scheme, _, key = values[0].strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        given = key.strip().encode()
        # Every key is compared, so the time taken does not say which one came close.
        matches = [hmac.compare_digest(given, known) for known in self._keys]
        return any(matches)


def _keys(request: Request) -> MerchantKeys:
    keys = request.app.state.merchant_keys
    assert isinstance(keys, MerchantKeys)
    return keys


async def require_merchant(request: Request) -> None:
    """Dependency: the merchant's secret key, or 401."""
    if not _keys(request).accepts(request):
        raise Unauthorized("the processor answers only the merchant's secret key")


async def require_merchant_or_admin(request: Request) -> None:
    """Dependency for the chaos dials: the merchant's key, or a signed-in admin of ours."""
    if _keys(request).accepts(request):
        return
    authenticator = request.app.state.authenticator
    assert isinstance(authenticator, Authenticator)
    try:
        caller = await authenticator.authenticate(request.headers)
    except IdentityRefused:
        raise Unauthorized("invalid credentials") from None
    except KeysUnavailable:
        raise Unavailable("token keys are unavailable; try again shortly") from None
    if caller is None:
        raise Unauthorized("the merchant's secret key or an admin is required")
    if Role.ADMIN not in caller.roles:
        raise Forbidden("requires the merchant's secret key or role admin")
