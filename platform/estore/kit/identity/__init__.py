"""Identity: JWTs signed by auth and verified by JWKS; the caller forwarded between services.

Wiring: auth holds a `KeyRing` and a `TokenIssuer`, and serves `KeyRing.jwks()` at
`/.well-known/jwks.json`. The gateway and services build a `JwksVerifier` over a fetch of
that document and an `InternalIdentity` over the shared internal key, join them in an
`Authenticator`, and put it on `app.state.authenticator`. Routes take `current_caller`,
`require_caller` or `require_role(...)`; service clients add `caller_headers()` to every
outgoing request.
"""

from estore.kit.identity.authenticate import (
    Authenticator,
    current_caller,
    require_caller,
    require_role,
    require_service_or_role,
)
from estore.kit.identity.caller import (
    STAFF,
    Caller,
    IdentityRefused,
    KeysUnavailable,
    Role,
)
from estore.kit.identity.context import acting_as, caller_headers, get_current_caller
from estore.kit.identity.internal import CALLER_HEADER, CLIENT_HEADER, InternalIdentity
from estore.kit.identity.keys import KeyRing, SigningKey
from estore.kit.identity.revocations import Revocations
from estore.kit.identity.tokens import JwksVerifier, TokenIssuer

__all__ = [
    "CALLER_HEADER",
    "CLIENT_HEADER",
    "STAFF",
    "Authenticator",
    "Caller",
    "IdentityRefused",
    "InternalIdentity",
    "JwksVerifier",
    "KeyRing",
    "KeysUnavailable",
    "Revocations",
    "Role",
    "SigningKey",
    "TokenIssuer",
    "acting_as",
    "caller_headers",
    "current_caller",
    "get_current_caller",
    "require_caller",
    "require_role",
    "require_service_or_role",
]
