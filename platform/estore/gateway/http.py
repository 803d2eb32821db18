"""GraphQL over HTTP at /graphql: POST (any operation) and GET (queries), JSON responses.

Status codes, following GraphQL-over-HTTP for `application/json` responses:
- 200: the request was run, or refused by validation, variable coercion or the limits
  (depth, cost, aliases, introspection off); the body then has `errors` and no `data`.
- 400: the HTTP request is not a GraphQL request (`query` missing, `variables` not an
  object) or the document does not parse; the body has `errors`, codes BAD_REQUEST and
  GRAPHQL_PARSE_FAILED. A POST body that is not a JSON object, or over the size limit (413),
  is refused before this router by the kit's BodyGuard, in the kit's JSON error shape.
- 405: a mutation over GET.
- 401 / 503 in the kit's JSON error shape: a bad bearer token, or no composed schema yet.
A subgraph's rate-limit error (extension `retryAfter`, seconds) also sets the `Retry-After`
header, so HTTP clients and proxies see when to come back without reading the body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from estore.gateway.edge import client_forwarding, edge_caller
from estore.gateway.errors import CompositionError
from estore.gateway.runtime import GatewayRuntime, SubgraphsUnavailable
from estore.kit.bodies import BodyRefused, parse_json
from estore.kit.errors import Unavailable
from estore.kit.graphql import GRAPHQL_PATH
from estore.kit.identity import Caller, InternalIdentity, acting_as
from estore.kit.jsoncodec import FastJSONResponse, loads

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


class BadGraphQLRequest(Exception):
    def __init__(
        self,
        message: str,
        code: str = "BAD_REQUEST",
        status: int = 400,
        locations: list[dict[str, int]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.locations = locations

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {"message": self.message, "extensions": {"code": self.code}}
        if self.locations:
            error["locations"] = self.locations
        body = {"errors": [error]}
        headers = {"Allow": "POST"} if self.status == 405 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def _params_from_body(raw: bytes) -> dict[str, Any]:
    # BodyGuard has already refused any body that is not a JSON object.
    body: dict[str, Any] = loads(raw)
    return body


def _params_from_query_string(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if "variables" in params:
        try:
            params["variables"] = parse_json(params["variables"], "variables")
        except BodyRefused as refused:
            raise BadGraphQLRequest(refused.message) from None
    return params


def _checked(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise BadGraphQLRequest("'query' must be a non-empty string")
    if variables is not None and not isinstance(variables, dict):
        raise BadGraphQLRequest("'variables' must be an object")
    if name is not None and not isinstance(name, str):
        raise BadGraphQLRequest("'operationName' must be a string")
    return query, variables, name


def with_codes(result: dict[str, Any]) -> dict[str, Any]:
    """Refused requests (no data) get a code on each error that has none, as Apollo does."""
    if "data" in result:
        return result
    for error in result.get("errors", ()):
        extensions = error.setdefault("extensions", {})
        extensions.setdefault("code", VALIDATION_FAILED)
    return result


def retry_after(result: dict[str, Any]) -> dict[str, str]:
    """A Retry-After header for the longest wait any error of the result asks for."""
    waits = [
        error["extensions"]["retryAfter"]
        for error in result.get("errors", ())
        if isinstance(error.get("extensions"), dict)
        and isinstance(error["extensions"].get("retryAfter"), int)
    ]
    return {"Retry-After": str(max(waits))} if waits else {}


def graphql_http_router(runtime: GatewayRuntime, identity: InternalIdentity) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def answer(
        request: Request, caller: Caller | None, params: dict[str, Any], method: str
    ) -> JSONResponse:
        query, variables, name = _checked(params)
        try:
            gateway = await runtime.current()
        except (SubgraphsUnavailable, CompositionError) as exc:
            raise Unavailable(f"the gateway has no composed schema yet: {exc}") from None
        prepared = gateway.prepare(query, name)
        if prepared.document is None and any(
            e.message.startswith("Syntax Error") for e in prepared.errors
        ):
            error = prepared.errors[0]
            locations = [{"line": at.line, "column": at.column} for at in error.locations or ()]
            raise BadGraphQLRequest(error.message, PARSE_FAILED, locations=locations)
        if method == "GET" and prepared.operation and prepared.operation.operation.value != "query":
            raise BadGraphQLRequest("only queries may be sent with GET; use POST", status=405)
        with acting_as(caller, identity):
            client = client_forwarding(request.client.host if request.client else None, identity)
            result = await gateway.execute(query, variables, name, client)
        return FastJSONResponse(with_codes(result), headers=retry_after(result))

    @router.post(GRAPHQL_PATH)
    async def post_graphql(
        request: Request, caller: Annotated[Caller | None, Depends(edge_caller)]
    ) -> JSONResponse:
        try:
            return await answer(request, caller, _params_from_body(await request.body()), "POST")
        except BadGraphQLRequest as exc:
            return exc.response()

    @router.get(GRAPHQL_PATH)
    async def get_graphql(
        request: Request, caller: Annotated[Caller | None, Depends(edge_caller)]
    ) -> JSONResponse:
        try:
            return await answer(request, caller, _params_from_query_string(request), "GET")
        except BadGraphQLRequest as exc:
            return exc.response()

    return router
