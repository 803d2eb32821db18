"""The contract suite catches a provider that renames a field its consumers read."""

from __future__ import annotations

from contracts.harness.breakage import rename_field
from contracts.harness.pacts import PACT_DIR, pact_file
from contracts.harness.served import ServedProvider
from contracts.harness.verify import verify_http
from contracts.providers.test_verify_auth import SEEDS


def test_renaming_a_jwks_field_fails_verification_naming_consumer_provider_and_interaction() -> (
    None
):
    source = [("today", str(pact_file("gateway", "auth", PACT_DIR)))]

    def broken(app: object) -> object:
        return rename_field(app, "/.well-known/jwks.json", "kid", "key_id")

    with ServedProvider("auth", app_wrapper=broken) as auth:
        [verdict] = verify_http(auth, source, SEEDS)
    assert not verdict.passed
    message = verdict.message()
    assert "gateway -> auth" in message
    assert "a request for the JSON Web Key Set" in message
    assert "kid" in message, message


def test_the_unbroken_provider_passes_the_same_check() -> None:
    source = [("today", str(pact_file("gateway", "auth", PACT_DIR)))]
    with ServedProvider("auth") as auth:
        [verdict] = verify_http(auth, source, SEEDS)
    assert verdict.passed, verdict.message()
