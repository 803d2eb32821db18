"""Auth subgraph: the User entity, `me`, and the account mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from estore.kit.deps import client_address
from estore.kit.errors import Unauthorized, validated
from estore.kit.graphql import SubgraphContext, SubgraphSchema
from estore.kit.identity import STAFF, Role
from estore.kit.views import graphql_of
from estore.services.auth.models import Credentials, PublicUser, Registration, TokenPair
from estore.services.auth.service import AuthService

RoleType = strawberry.enum(Role, name="Role")


def _service(info: Info[SubgraphContext, Any]) -> AuthService:
    service: AuthService = info.context.service
    return service


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    name: str
    created_at: datetime
    _email: strawberry.Private[str]
    _roles: strawberry.Private[list[Role]]
    # Set when the answer goes to the account itself (it just proved its password or token).
    _revealed: strawberry.Private[bool] = False

    @strawberry.field(description="Only the account itself, support and admins see the email.")
    def email(self, info: Info[SubgraphContext, Any]) -> str | None:
        return self._email if self._visible_to(info) else None

    @strawberry.field(description="Only the account itself, support and admins see the roles.")
    def roles(self, info: Info[SubgraphContext, Any]) -> list[RoleType] | None:  # type: ignore[valid-type]
        return self._roles if self._visible_to(info) else None

    def _visible_to(self, info: Info[SubgraphContext, Any]) -> bool:
        if self._revealed:
            return True
        caller = info.context.caller
        return caller is not None and (caller.user_id == self.id or bool(caller.roles & STAFF))

    @classmethod
    def of(cls, user: PublicUser, *, revealed: bool = False) -> User:
        return graphql_of(cls, user, _email=user.email, _roles=list(user.roles), _revealed=revealed)

    @classmethod
    async def resolve_reference(cls, info: Info[SubgraphContext, Any], id: strawberry.ID) -> User:
        return cls.of(await _service(info).user(str(id)))


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: User

    @classmethod
    def of(cls, pair: TokenPair) -> AuthPayload:
        return graphql_of(cls, pair, user=User.of(pair.user, revealed=True))


@strawberry.input
class RegisterInput:
    email: str
    password: str
    name: str


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in account, or null when anonymous.")
    async def me(self, info: Info[SubgraphContext, Any]) -> User | None:
        caller = info.context.caller
        return User.of(await _service(info).me(caller)) if caller else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register(self, info: Info[SubgraphContext, Any], input: RegisterInput) -> AuthPayload:
        form = validated(Registration, strawberry.asdict(input))
        return AuthPayload.of(await _service(info).register(form))

    @strawberry.mutation
    async def login(
        self, info: Info[SubgraphContext, Any], email: str, password: str
    ) -> AuthPayload:
        credentials = validated(Credentials, {"email": email, "password": password})
        client = client_address(info.context.request)
        return AuthPayload.of(await _service(info).login(credentials, client))

    @strawberry.mutation
    async def refresh_token(
        self, info: Info[SubgraphContext, Any], refresh_token: str
    ) -> AuthPayload:
        return AuthPayload.of(await _service(info).refresh(refresh_token))

    @strawberry.mutation
    async def logout(self, info: Info[SubgraphContext, Any], refresh_token: str) -> bool:
        if not refresh_token:
            raise Unauthorized("refresh token is required")
        await _service(info).logout(refresh_token)
        return True


def build_schema() -> SubgraphSchema:
    return SubgraphSchema(query=Query, mutation=Mutation, types=[User])
