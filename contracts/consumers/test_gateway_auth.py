"""Consumer pact gateway -> auth: the JWK set the gateway verifies access tokens with."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pact import match

from contracts.harness.clients import CUSTOMER, client_to
from contracts.harness.messages import at_least_one
from contracts.harness.pacts import PactBook, book_fixture
from estore.kit.bootstrap import JWKS_PATH
from estore.kit.clock import SystemClock
from estore.kit.identity import JwksVerifier, KeyRing, SigningKey, TokenIssuer
from estore.kit.settings import ServiceSettings

book = book_fixture("gateway", "auth")

B64URL = r"^[A-Za-z0-9_-]+$"


def fixed_ring() -> KeyRing:
    """A key made from fixed bytes, so the committed pact does not change on every run."""
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    return KeyRing(SigningKey.from_private_key(private))


def jwk_matcher(ring: KeyRing) -> dict[str, Any]:
    """One public key as the gateway reads it: Ed25519 fields exact, key material by shape."""
    jwk = ring.signing.public_jwk()
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": jwk["alg"],
        "use": "sig",
        "kid": match.regex(jwk["kid"], regex=B64URL),
        "x": match.regex(jwk["x"], regex=B64URL),
    }


async def test_gateway_verifies_a_token_with_the_keys_auth_publishes(book: PactBook) -> None:
    ring = fixed_ring()
    pact = book.new()
    (
        pact.upon_receiving("a request for the JSON Web Key Set")
        .given("auth signs tokens with one key")
        .with_request("GET", JWKS_PATH)
        .will_respond_with(200)
        .with_body({"keys": at_least_one(jwk_matcher(ring))}, "application/json")
    )
    defaults = ServiceSettings()
    issuer = TokenIssuer(ring, defaults.jwt_issuer, defaults.jwt_audience, SystemClock(), 60)
    with pact.serve() as server:
        async with client_to("auth", str(server.url)) as auth:

            async def fetch() -> dict[str, Any]:
                response = await auth.get(JWKS_PATH)
                assert response.status_code == 200
                body: dict[str, Any] = response.json()
                return body

            verifier = JwksVerifier(
                fetch, defaults.jwt_issuer, defaults.jwt_audience, SystemClock()
            )
            caller = await verifier.verify(issuer.issue_access_token(CUSTOMER))
    assert caller.user_id == CUSTOMER.user_id
    book.record(pact)
