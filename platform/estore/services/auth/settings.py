"""Auth service settings: token lifetimes come from the kit, login limits and hashing cost here."""

from __future__ import annotations

from typing import ClassVar

from estore.kit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    service: ClassVar[str] = "auth"
    required_secrets: ClassVar[tuple[str, ...]] = ("internal_signing_key", "jwt_private_key")

    # Wrong passwords for one account from one client before that pair must wait; the wait
    # then doubles with each further failure. Other clients (the owner elsewhere) are not held.
    login_attempts_per_account: int = 5
    login_backoff_base_seconds: float = 30
    login_backoff_max_seconds: int = 900
    # A pair's failures are forgotten this long after its last one.
    login_account_window_seconds: int = 900
    login_attempts_per_client: int = 30
    login_client_window_seconds: int = 60
    # RFC 9106's second recommended argon2id profile; tests and load runs may lower it.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
