"""One error shape for every service: domain exceptions and their JSON form."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """What every 4xx and 5xx answer carries, so clients parse one thing."""

    error: ErrorBody
    trace_id: str | None = None


class ServiceError(Exception):
    """A domain failure the caller can act on; routes turn it into its HTTP status."""

    status = 400
    code = "bad_request"
    # The GraphQL extensions code, when it is not `code` in capitals.
    graphql_code: str | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ServiceError):
    pass


class BadUserInput(BadRequest):
    """An argument out of its range: 400 over REST, coded as Apollo codes it over GraphQL."""

    code = "bad_user_input"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Unprocessable(ServiceError):
    status = 422
    code = "unprocessable"


class TooManyRequests(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"


STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


def error_payload(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
    trace_id: str | None = None,
) -> dict[str, Any]:
    body = ErrorBody(
        code=code or STATUS_CODES.get(status, "error"), message=message, details=details
    )
    return ErrorResponse(error=body, trace_id=trace_id).model_dump(exclude_none=True)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """Build an input model, turning pydantic's errors into a BadRequest that says what is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
        raise BadRequest(f"invalid input: {summary}", details=problems) from exc
