"""Identity kit: token issue and JWKS verification, internal caller header, FastAPI guards."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI
from starlette.datastructures import Headers

from estore.kit.clock import FakeClock
from estore.kit.identity import (
    CALLER_HEADER,
    Authenticator,
    Caller,
    IdentityRefused,
    InternalIdentity,
    JwksVerifier,
    KeyRing,
    KeysUnavailable,
    Revocations,
    Role,
    SigningKey,
    TokenIssuer,
    acting_as,
    caller_headers,
    current_caller,
    get_current_caller,
    require_caller,
    require_role,
)

ISSUER = "estore-auth"
AUDIENCE = "estore"
TTL = 900
CACHE_SECONDS = 300.0
MIN_REFRESH = 10.0
LEEWAY = 10.0
MAX_AGE = 60
INTERNAL_KEY = b"k" * 32

ALICE = Caller(user_id="u-alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
ROOT = Caller(user_id="u-root", email="root@example.com", roles=frozenset({Role.ADMIN}))


def _key(name: str) -> SigningKey:
    """A deterministic key, so failures reproduce."""
    seed = hashlib.sha256(name.encode()).digest()
    return SigningKey.from_private_key(Ed25519PrivateKey.from_private_bytes(seed))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(obj: Any) -> str:
    return _b64(json.dumps(obj).encode())


class FakeJwksSource:
    """Serves a key ring's JWKS as auth would, counting fetches; can be made to fail."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.fetches = 0
        self.failing = False

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        await asyncio.sleep(0)
        if self.failing:
            raise ConnectionError("auth is down")
        return self.ring.jwks()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(_key("signing-1"))


@pytest.fixture
def source(ring: KeyRing) -> FakeJwksSource:
    return FakeJwksSource(ring)


@pytest.fixture
def issuer(ring: KeyRing, clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(ring, ISSUER, AUDIENCE, clock, access_ttl=TTL)


@pytest.fixture
def verifier(source: FakeJwksSource, clock: FakeClock) -> JwksVerifier:
    return JwksVerifier(
        source,
        ISSUER,
        AUDIENCE,
        clock,
        cache_seconds=CACHE_SECONDS,
        min_refresh_interval=MIN_REFRESH,
        leeway_seconds=LEEWAY,
    )


@pytest.fixture
def internal(clock: FakeClock) -> InternalIdentity:
    return InternalIdentity(INTERNAL_KEY, clock, max_age_seconds=MAX_AGE)


# --- keys ---------------------------------------------------------------------------------


def test_kid_is_the_rfc7638_thumbprint_of_the_rfc8037_example_key() -> None:
    d = _unb64("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    key = SigningKey.from_private_key(Ed25519PrivateKey.from_private_bytes(d))

    assert key.public_jwk()["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_signing_key_loaded_from_its_pem_keeps_its_kid() -> None:
    key = _key("pem")

    assert SigningKey.from_pem(key.private_pem()).kid == key.kid


def test_loading_a_pem_that_is_not_ed25519_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    with pytest.raises(ValueError, match="Ed25519"):
        SigningKey.from_pem(pem)


def test_jwks_after_rotation_publishes_new_and_old_public_keys_only() -> None:
    old, new = _key("old"), _key("new")
    rotated = KeyRing(old).rotate(new)

    jwks = rotated.jwks()

    assert [k["kid"] for k in jwks["keys"]] == [new.kid, old.kid]
    assert all("d" not in k for k in jwks["keys"])
    assert rotated.signing == new
    assert [k["kid"] for k in rotated.without(old.kid).jwks()["keys"]] == [new.kid]


# --- issue and verify ---------------------------------------------------------------------


async def test_issued_token_verifies_back_to_the_same_caller(
    issuer: TokenIssuer, verifier: JwksVerifier, ring: KeyRing, clock: FakeClock
) -> None:
    token = issuer.issue_access_token(ALICE)

    assert await verifier.verify(token) == ALICE
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    now = int(clock.now().timestamp())
    assert header["alg"] == "EdDSA" and header["kid"] == ring.signing.kid
    assert claims["sub"] == ALICE.user_id and claims["roles"] == ["customer"]
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
    assert (claims["iat"], claims["exp"]) == (now, now + TTL)
    assert (
        claims["jti"]
        != jwt.decode(issuer.issue_access_token(ALICE), options={"verify_signature": False})["jti"]
    )


async def test_token_is_accepted_within_leeway_and_refused_once_expired(
    issuer: TokenIssuer, verifier: JwksVerifier, clock: FakeClock
) -> None:
    token = issuer.issue_access_token(ALICE)

    await clock.advance(TTL + LEEWAY - 1)
    assert await verifier.verify(token) == ALICE
    await clock.advance(1)
    with pytest.raises(IdentityRefused, match="expired"):
        await verifier.verify(token)


async def test_token_issued_in_the_future_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock
) -> None:
    ahead = FakeClock(start=clock.now())
    await ahead.advance(LEEWAY + 5)
    token = TokenIssuer(ring, ISSUER, AUDIENCE, ahead, TTL).issue_access_token(ALICE)

    with pytest.raises(IdentityRefused, match="future"):
        await verifier.verify(token)


@pytest.mark.parametrize(
    ("iss", "aud", "reason"),
    [("someone-else", AUDIENCE, "wrong issuer"), (ISSUER, "another-app", "wrong audience")],
)
async def test_token_for_another_issuer_or_audience_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock, iss: str, aud: str, reason: str
) -> None:
    token = TokenIssuer(ring, iss, aud, clock, TTL).issue_access_token(ALICE)

    with pytest.raises(IdentityRefused, match=reason):
        await verifier.verify(token)


async def test_token_with_tampered_claims_is_refused(
    issuer: TokenIssuer, verifier: JwksVerifier
) -> None:
    header, payload, signature = issuer.issue_access_token(ALICE).split(".")
    claims = json.loads(_unb64(payload))
    claims["roles"] = ["admin"]

    with pytest.raises(IdentityRefused, match="bad signature"):
        await verifier.verify(f"{header}.{_segment(claims)}.{signature}")


async def test_token_signed_by_an_unpublished_key_under_a_published_kid_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock
) -> None:
    impostor = SigningKey(_key("impostor").private_key, kid=ring.signing.kid)
    token = TokenIssuer(KeyRing(impostor), ISSUER, AUDIENCE, clock, TTL).issue_access_token(ROOT)

    with pytest.raises(IdentityRefused, match="bad signature"):
        await verifier.verify(token)


def _claims(clock: FakeClock, caller: Caller = ROOT) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    return {**caller.claims(), "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + TTL}


async def test_unsigned_alg_none_token_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock
) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": ring.signing.kid}
    token = f"{_segment(header)}.{_segment(_claims(clock))}."

    with pytest.raises(IdentityRefused, match="algorithm 'none' not accepted"):
        await verifier.verify(token)


def _public_key_materials(key: SigningKey) -> list[bytes]:
    public = key.private_key.public_key()
    return [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        json.dumps(key.public_jwk()).encode(),
    ]


@pytest.mark.parametrize("material", range(3), ids=["pem", "raw", "jwk"])
async def test_hs256_token_keyed_with_the_public_key_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock, material: int
) -> None:
    secret = _public_key_materials(ring.signing)[material]
    signed = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': ring.signing.kid})}."
    signed += _segment(_claims(clock))
    mac = hmac.new(secret, signed.encode(), hashlib.sha256).digest()

    with pytest.raises(IdentityRefused, match="algorithm 'HS256' not accepted"):
        await verifier.verify(f"{signed}.{_b64(mac)}")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30.e30.", "\u00e9.\u00e9.\u00e9"])
async def test_garbage_token_is_refused(verifier: JwksVerifier, token: str) -> None:
    with pytest.raises(IdentityRefused):
        await verifier.verify(token)


async def test_token_without_a_kid_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock
) -> None:
    token = jwt.encode(_claims(clock), ring.signing.private_key, algorithm="EdDSA")

    with pytest.raises(IdentityRefused, match="no key id"):
        await verifier.verify(token)


async def test_token_with_unknown_role_is_refused(
    ring: KeyRing, verifier: JwksVerifier, clock: FakeClock
) -> None:
    claims = {**_claims(clock), "roles": ["superuser"]}
    headers = {"kid": ring.signing.kid}
    token = jwt.encode(claims, ring.signing.private_key, algorithm="EdDSA", headers=headers)

    with pytest.raises(IdentityRefused, match="malformed caller claims"):
        await verifier.verify(token)


# --- JWKS cache and refresh ---------------------------------------------------------------


async def test_jwks_is_fetched_once_while_cached_and_again_once_stale(
    issuer: TokenIssuer, verifier: JwksVerifier, source: FakeJwksSource, clock: FakeClock
) -> None:
    for _ in range(5):
        await verifier.verify(issuer.issue_access_token(ALICE))
    assert source.fetches == 1

    await clock.advance(CACHE_SECONDS - 1)
    await verifier.verify(issuer.issue_access_token(ALICE))
    assert source.fetches == 1

    await clock.advance(1)
    await verifier.verify(issuer.issue_access_token(ALICE))
    assert source.fetches == 2


async def test_unknown_kid_triggers_one_refetch_and_then_verifies_after_rotation(
    issuer: TokenIssuer, verifier: JwksVerifier, source: FakeJwksSource, clock: FakeClock
) -> None:
    old_token = issuer.issue_access_token(ALICE)
    await verifier.verify(old_token)
    assert source.fetches == 1

    source.ring = source.ring.rotate(_key("signing-2"))
    issuer.rotate_to(source.ring)
    await clock.advance(MIN_REFRESH)
    new_token = issuer.issue_access_token(ROOT)

    assert await verifier.verify(new_token) == ROOT
    assert source.fetches == 2
    assert await verifier.verify(new_token) == ROOT
    assert await verifier.verify(old_token) == ALICE
    assert source.fetches == 2


def _token_with_kid(kid: str, clock: FakeClock) -> str:
    return jwt.encode(
        _claims(clock), _key("x").private_key, algorithm="EdDSA", headers={"kid": kid}
    )


async def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    issuer: TokenIssuer, verifier: JwksVerifier, source: FakeJwksSource, clock: FakeClock
) -> None:
    await verifier.verify(issuer.issue_access_token(ALICE))
    await clock.advance(MIN_REFRESH)
    garbage = [_token_with_kid(f"made-up-{i}", clock) for i in range(20)]

    results = await asyncio.gather(*(verifier.verify(t) for t in garbage), return_exceptions=True)
    await clock.advance(MIN_REFRESH - 1)
    for token in garbage:
        with pytest.raises(IdentityRefused, match="unknown key id"):
            await verifier.verify(token)

    assert all(isinstance(r, IdentityRefused) and "unknown key id" in r.reason for r in results)
    assert source.fetches == 2


async def test_known_keys_keep_verifying_while_jwks_refresh_fails(
    issuer: TokenIssuer, verifier: JwksVerifier, source: FakeJwksSource, clock: FakeClock
) -> None:
    await verifier.verify(issuer.issue_access_token(ALICE))
    source.failing = True
    await clock.advance(CACHE_SECONDS)

    assert await verifier.verify(issuer.issue_access_token(ALICE)) == ALICE
    assert await verifier.verify(issuer.issue_access_token(ALICE)) == ALICE
    assert source.fetches == 2


async def test_verifier_without_any_keys_reports_keys_unavailable(
    issuer: TokenIssuer, verifier: JwksVerifier, source: FakeJwksSource
) -> None:
    source.failing = True

    with pytest.raises(KeysUnavailable):
        await verifier.verify(issuer.issue_access_token(ALICE))


async def test_jwks_entries_of_other_types_are_ignored(
    issuer: TokenIssuer, ring: KeyRing, clock: FakeClock
) -> None:
    async def mixed() -> Mapping[str, Any]:
        return {
            "keys": [
                {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
                {"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "broken"},
                "not a key",
                ring.signing.public_jwk(),
            ]
        }

    verifier = JwksVerifier(mixed, ISSUER, AUDIENCE, clock)

    assert await verifier.verify(issuer.issue_access_token(ALICE)) == ALICE


# --- internal identity --------------------------------------------------------------------


def test_internal_identity_roundtrips_the_caller(internal: InternalIdentity) -> None:
    assert internal.verify(internal.sign(ROOT)) == ROOT


def test_internal_identity_signed_with_another_key_is_refused(
    internal: InternalIdentity, clock: FakeClock
) -> None:
    forger = InternalIdentity(b"f" * 32, clock, max_age_seconds=MAX_AGE)

    with pytest.raises(IdentityRefused, match="bad signature"):
        internal.verify(forger.sign(ROOT))


def test_internal_identity_with_tampered_payload_is_refused(internal: InternalIdentity) -> None:
    version, payload, mac = internal.sign(ALICE).split(".")
    claims = json.loads(_unb64(payload))
    claims["roles"] = ["admin"]

    with pytest.raises(IdentityRefused, match="bad signature"):
        internal.verify(f"{version}.{_segment(claims)}.{mac}")


async def test_internal_identity_expires_after_max_age(
    internal: InternalIdentity, clock: FakeClock
) -> None:
    value = internal.sign(ALICE)

    await clock.advance(MAX_AGE)
    assert internal.verify(value) == ALICE
    await clock.advance(1)
    with pytest.raises(IdentityRefused, match="expired"):
        internal.verify(value)


def _mac(payload: str) -> str:
    return _b64(hmac.new(INTERNAL_KEY, f"v1.{payload}".encode(), hashlib.sha256).digest())


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "v1..",
        "v1.e30",
        "v1.e30.",
        "v2.e30.AAAA",
        "v1.e30.AAAA.AAAA",
        "v1.e30.@@@@",
        "v1.\u00e9.AAAA",
        "v1." + "A" * 5000 + ".AAAA",
    ],
)
def test_malformed_or_unsigned_internal_identity_is_refused(
    internal: InternalIdentity, value: str
) -> None:
    with pytest.raises(IdentityRefused):
        internal.verify(value)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("bm90IGpzb24", "malformed payload"),
        (_segment([1, 2]), "malformed payload"),
        (_segment({"sub": "u", "email": "e", "roles": []}), "issued-at"),
        (_segment({"sub": "u", "roles": [], "iat": 1767225600}), "malformed caller claims"),
    ],
)
def test_authentic_but_malformed_internal_payload_is_refused(
    internal: InternalIdentity, payload: str, reason: str
) -> None:
    with pytest.raises(IdentityRefused, match=reason):
        internal.verify(f"v1.{payload}.{_mac(payload)}")


def test_internal_key_shorter_than_32_bytes_is_rejected(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        InternalIdentity(b"short", clock, max_age_seconds=MAX_AGE)


def test_caller_headers_forward_the_current_caller_only_inside_acting_as(
    internal: InternalIdentity,
) -> None:
    assert caller_headers() == {}

    with acting_as(ALICE, internal):
        forwarded = caller_headers()
        with acting_as(None, internal):
            assert caller_headers() == {}
        assert get_current_caller() == ALICE

    assert internal.verify(forwarded[CALLER_HEADER]) == ALICE
    assert get_current_caller() is None and caller_headers() == {}


# --- authenticator ------------------------------------------------------------------------


@pytest.fixture
def authenticator(internal: InternalIdentity, verifier: JwksVerifier) -> Authenticator:
    return Authenticator(internal, verifier)


async def test_internal_header_takes_precedence_over_bearer_token(
    authenticator: Authenticator, internal: InternalIdentity, issuer: TokenIssuer
) -> None:
    headers = {
        CALLER_HEADER: internal.sign(ALICE),
        "Authorization": f"Bearer {issuer.issue_access_token(ROOT)}",
    }

    assert await authenticator.authenticate(headers) == ALICE


async def test_bad_internal_header_is_refused_even_beside_a_valid_bearer_token(
    authenticator: Authenticator, issuer: TokenIssuer
) -> None:
    headers = {
        CALLER_HEADER: "v1.e30.AAAA",
        "Authorization": f"Bearer {issuer.issue_access_token(ROOT)}",
    }

    with pytest.raises(IdentityRefused, match="internal identity"):
        await authenticator.authenticate(headers)


async def test_bearer_token_is_used_when_no_internal_header_whatever_the_header_case(
    authenticator: Authenticator, issuer: TokenIssuer
) -> None:
    headers = {"authorization": f"bearer {issuer.issue_access_token(ROOT)}"}

    assert await authenticator.authenticate(headers) == ROOT


async def test_no_credentials_is_anonymous(authenticator: Authenticator) -> None:
    assert await authenticator.authenticate({"Accept": "application/json"}) is None


async def test_without_a_verifier_bearer_tokens_are_ignored(
    internal: InternalIdentity, issuer: TokenIssuer
) -> None:
    headers = {"Authorization": f"Bearer {issuer.issue_access_token(ROOT)}"}

    assert await Authenticator(internal, verifier=None).authenticate(headers) is None


@pytest.mark.parametrize("authorization", ["Basic dTpw", "Bearer", "Bearer   "])
async def test_non_bearer_or_empty_authorization_is_refused(
    authenticator: Authenticator, authorization: str
) -> None:
    with pytest.raises(IdentityRefused):
        await authenticator.authenticate({"Authorization": authorization})


async def test_repeated_internal_header_is_refused(
    authenticator: Authenticator, internal: InternalIdentity
) -> None:
    value = internal.sign(ALICE).encode()
    headers = Headers(raw=[(b"x-estore-caller", value), (b"x-estore-caller", value)])

    with pytest.raises(IdentityRefused, match="repeated"):
        await authenticator.authenticate(headers)


# --- FastAPI dependencies -----------------------------------------------------------------


def _app(authenticator: Authenticator) -> FastAPI:
    app = FastAPI()
    app.state.authenticator = authenticator

    @app.get("/maybe")
    async def maybe(caller: Annotated[Caller | None, Depends(current_caller)]) -> dict[str, Any]:
        return {"user_id": caller.user_id if caller else None}

    @app.get("/me")
    async def me(caller: Annotated[Caller, Depends(require_caller)]) -> dict[str, Any]:
        return {"user_id": caller.user_id, "forwarded": caller_headers()}

    @app.get("/admin")
    async def admin(caller: Annotated[Caller, Depends(require_role(Role.ADMIN))]) -> dict[str, str]:
        return {"user_id": caller.user_id}

    return app


@pytest.fixture
async def http(authenticator: Authenticator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(authenticator))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        yield client


def _bearer(issuer: TokenIssuer, caller: Caller) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue_access_token(caller)}"}


async def test_anonymous_request_to_a_guarded_route_gets_401_with_bearer_challenge(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_anonymous_request_to_an_open_route_passes_as_nobody(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/maybe")

    assert (response.status_code, response.json()) == (200, {"user_id": None})


async def test_caller_without_the_role_gets_403(
    http: httpx.AsyncClient, issuer: TokenIssuer
) -> None:
    response = await http.get("/admin", headers=_bearer(issuer, ALICE))

    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


async def test_caller_with_the_role_gets_200(http: httpx.AsyncClient, issuer: TokenIssuer) -> None:
    response = await http.get("/admin", headers=_bearer(issuer, ROOT))

    assert (response.status_code, response.json()) == (200, {"user_id": ROOT.user_id})


async def test_forged_internal_header_gets_401_even_with_a_valid_bearer_token(
    http: httpx.AsyncClient, issuer: TokenIssuer, clock: FakeClock
) -> None:
    forged = InternalIdentity(b"f" * 32, clock, max_age_seconds=MAX_AGE).sign(ROOT)
    headers = {**_bearer(issuer, ROOT), CALLER_HEADER: forged}

    response = await http.get("/maybe", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_route_forwards_its_caller_and_leaves_none_behind_in_the_calling_task(
    http: httpx.AsyncClient, issuer: TokenIssuer, internal: InternalIdentity
) -> None:
    response = await http.get("/me", headers=_bearer(issuer, ALICE))

    forwarded = response.json()["forwarded"][CALLER_HEADER]
    assert internal.verify(forwarded) == ALICE
    # ASGITransport runs the app in this task, as in-process service calls do.
    assert get_current_caller() is None


async def test_bearer_token_when_keys_are_unavailable_gets_503(
    http: httpx.AsyncClient, issuer: TokenIssuer, source: FakeJwksSource
) -> None:
    source.failing = True

    response = await http.get("/maybe", headers=_bearer(issuer, ALICE))

    assert response.status_code == 503


# --- revoked sessions ------------------------------------------------------------------------


@pytest.mark.redis
async def test_a_revoked_sessions_tokens_are_refused_and_other_tokens_are_not(
    source: FakeJwksSource, issuer: TokenIssuer, clock: FakeClock, redis: Any
) -> None:
    revocations = Revocations(redis, clock)
    verifier = JwksVerifier(source, ISSUER, AUDIENCE, clock, revocations=revocations)
    ended, kept = issuer.issue_access_token(ALICE, "s-1"), issuer.issue_access_token(ALICE, "s-2")
    unbound = issuer.issue_access_token(ALICE)
    await revocations.revoke("s-1", clock.now() + timedelta(seconds=TTL))
    with pytest.raises(IdentityRefused, match="session has ended"):
        await verifier.verify(ended)
    assert await verifier.verify(kept) == ALICE
    assert await verifier.verify(unbound) == ALICE
    assert 0 < await redis.ttl("identity:revoked:s-1") <= TTL


async def test_an_unreadable_revocation_list_lets_valid_tokens_through(
    source: FakeJwksSource, issuer: TokenIssuer, clock: FakeClock
) -> None:
    class AwayRedis:
        async def exists(self, *_: str) -> int:
            raise ConnectionError("redis is away")

    verifier = JwksVerifier(
        source,
        ISSUER,
        AUDIENCE,
        clock,
        revocations=Revocations(AwayRedis(), clock),  # type: ignore[arg-type]
    )
    assert await verifier.verify(issuer.issue_access_token(ALICE, "s-1")) == ALICE
