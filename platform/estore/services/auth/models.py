"""Auth documents and inputs: users, sessions, credentials, token pairs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from estore.kit.identity import Role
from estore.kit.views import View

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_key(email: str) -> str:
    """Emails are unique case-insensitively: this is the form that is indexed."""
    return email.strip().casefold()


class User(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    email: str
    email_key: str
    name: str
    password_hash: str
    roles: list[Role]
    created_at: datetime
    updated_at: datetime


class Session(BaseModel):
    """One login: its current refresh token (hashed) and the ones it has rotated away from."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    user_id: str
    refresh_hash: str
    retired_hashes: list[str] = []
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


Password = Annotated[str, Field(min_length=8, max_length=128)]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[str, Field(max_length=254)]
    password: Password
    name: Annotated[str, Field(min_length=1, max_length=100)]

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("must be an email address like name@example.com")
        return value


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=10, max_length=512)]


class PublicUser(View):
    id: str
    email: str
    name: str
    roles: list[Role]
    created_at: datetime


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    user: PublicUser
