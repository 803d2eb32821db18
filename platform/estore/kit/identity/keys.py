"""Token signing keys: generate or load Ed25519 keys, name them by thumbprint, publish a JWKS.

Ed25519 (JWS alg `EdDSA`) rather than ES256: every request through the gateway and every
direct REST call verifies a signature, and Ed25519 verifies several times faster than P-256
ECDSA in OpenSSL; its signatures are deterministic, so a weak RNG cannot leak the key, and
its keys are 32 bytes with no curve parameters to get wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key pair; `kid` is its RFC 7638 thumbprint, so it needs no registry."""

    private_key: Ed25519PrivateKey
    kid: str

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.from_private_key(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: str | bytes) -> SigningKey:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"expected an Ed25519 private key, got {type(key).__name__}")
        return cls.from_private_key(key)

    @classmethod
    def from_private_key(cls, key: Ed25519PrivateKey) -> SigningKey:
        return cls(private_key=key, kid=_thumbprint(_public_x(key)))

    def private_pem(self) -> str:
        """PKCS#8 PEM, the form JWT_PRIVATE_KEY takes in the environment."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _public_x(self.private_key),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }


@dataclass(frozen=True)
class KeyRing:
    """The key that signs now, plus retired keys still published so older tokens verify.

    Rotation: publish the new key (`rotate`), and drop a retired key only after the longest
    token lifetime has passed since it stopped signing.
    """

    signing: SigningKey
    retired: Sequence[SigningKey] = ()

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(SigningKey.generate())

    @classmethod
    def from_pem(cls, pem: str | bytes) -> KeyRing:
        return cls(SigningKey.from_pem(pem))

    def rotate(self, new: SigningKey) -> KeyRing:
        return KeyRing(new, (self.signing, *self.retired))

    def without(self, kid: str) -> KeyRing:
        """Stop publishing a retired key (the signing key cannot be dropped this way)."""
        return KeyRing(self.signing, tuple(k for k in self.retired if k.kid != kid))

    def jwks(self) -> dict[str, Any]:
        """The public JWK set served at /.well-known/jwks.json."""
        return {"keys": [k.public_jwk() for k in (self.signing, *self.retired)]}


def _public_x(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url(raw)


def _thumbprint(x: str) -> str:
    # RFC 7638: the required members only, in lexicographic order, no whitespace.
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())
