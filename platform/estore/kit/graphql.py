"""The subgraph endpoint every service mounts at /graphql: caches, context, error codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
import structlog
from fastapi import Depends
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.fastapi import BaseContext, GraphQLRouter
from strawberry.federation.schema import FederationAny
from strawberry.types import ExecutionContext, Info

from estore.kit.bodies import BodyRefused, parse_json
from estore.kit.errors import BadRequest, Forbidden, ServiceError, TooManyRequests, Unauthorized
from estore.kit.identity import Authenticator, Caller, Role, current_caller
from estore.kit.jsoncodec import dumps

DOCUMENT_CACHE_SIZE = 512
GRAPHQL_PATH = "/graphql"


class SubgraphContext(BaseContext):
    """What resolvers see: the authenticated caller, whether a peer service vouched for the
    request (`from_service`), and the service's use cases."""

    def __init__(self, caller: Caller | None, service: Any, from_service: bool = False) -> None:
        super().__init__()
        self.caller = caller
        self.service = service
        self.from_service = from_service

    def signed_in(self, why: str = "sign in first") -> Caller:
        """The caller, or Unauthorized saying why signing in is needed."""
        if self.caller is None:
            raise Unauthorized(why)
        return self.caller

    def with_role(self, role: Role, why: str) -> Caller:
        """A signed-in caller holding `role`; otherwise Unauthorized or Forbidden, with `why`."""
        caller = self.signed_in(why)
        if not caller.has_role(role):
            raise Forbidden(why)
        return caller


def _extensions(error: ServiceError) -> dict[str, Any]:
    """What a GraphQL client needs to act on a service error: its code, and when to retry."""
    extensions: dict[str, Any] = {"code": error.graphql_code or error.code.upper()}
    if isinstance(error, TooManyRequests):
        extensions["retryAfter"] = error.retry_after
    return extensions


class SubgraphSchema(strawberry.federation.Schema):
    """A Federation 2 schema whose parsed and validated documents are cached.

    The gateway sends the same subgraph operations over and over, and parse + validate
    costs about 2 ms each time, so the caches are what keeps a subgraph hop cheap.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "extensions",
            [
                lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
                lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            ],
        )
        super().__init__(**kwargs)

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """`_entities` answers only a peer service: it resolves any id of any entity type, so
        a client calling a subgraph directly must use the gateway's root fields instead."""
        context = info.context
        if not (isinstance(context, SubgraphContext) and context.from_service):
            raise Forbidden("_entities answers only the gateway and other services")
        return super().entities_resolver(info, representations)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log = structlog.get_logger()
        for error in errors:
            original = error.original_error
            if isinstance(original, ServiceError):
                error.extensions = {**(error.extensions or {}), **_extensions(original)}
            elif original is not None:
                log.error("graphql.resolver_failed", error=str(error), exc_info=original)


class SubgraphRouter(GraphQLRouter[SubgraphContext, None]):
    """Strawberry's router, refusing undecodable JSON (e.g. GET `variables`) with a 400.

    Strawberry catches only JSONDecodeError: invalid UTF-8 and deep nesting were 500s.
    """

    def encode_json(self, data: object) -> bytes:
        return dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return parse_json(data, "JSON in the request")
        except BodyRefused as refused:
            raise BadRequest(refused.message) from None


def graphql_router(schema: SubgraphSchema, service: Any) -> GraphQLRouter[SubgraphContext, None]:
    async def context(
        request: HTTPConnection, caller: Annotated[Caller | None, Depends(current_caller)]
    ) -> SubgraphContext:
        authenticator = request.app.state.authenticator
        assert isinstance(authenticator, Authenticator)
        return SubgraphContext(caller, service, authenticator.from_a_service(request.headers))

    getter: Callable[..., Awaitable[SubgraphContext]] = context
    # Subgraphs serve no subscriptions (the gateway does): their WebSocket speaks no protocol.
    return SubgraphRouter(
        schema, context_getter=getter, include_in_schema=False, subscription_protocols=()
    )
