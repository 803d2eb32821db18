"""Who is calling: the caller's identity, its roles, and why an identity was refused."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Role(StrEnum):
    CUSTOMER = "customer"
    SUPPORT = "support"
    ADMIN = "admin"


# Who may see and act on any customer's orders, tickets, coupons and account.
STAFF = frozenset({Role.SUPPORT, Role.ADMIN})


class IdentityRefused(Exception):
    """A credential was presented and is not acceptable; `reason` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """No verification keys could be obtained: an outage of auth, not the caller's fault."""


class Caller(BaseModel):
    """An authenticated user, as carried by access tokens and the internal caller header."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1)
    email: str
    roles: frozenset[Role] = frozenset()

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def claims(self) -> dict[str, Any]:
        """The caller as JWT-style claims; roles sorted so equal callers encode equally."""
        return {
            "sub": self.user_id,
            "email": self.email,
            "roles": sorted(role.value for role in self.roles),
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], *, source: str) -> Caller:
        """Rebuild a caller from claims, refusing (not crashing on) a malformed set."""
        try:
            return cls.model_validate(
                {
                    "user_id": claims.get("sub"),
                    "email": claims.get("email"),
                    "roles": claims.get("roles", []),
                }
            )
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise IdentityRefused(f"{source}: malformed caller claims ({fields})") from None
