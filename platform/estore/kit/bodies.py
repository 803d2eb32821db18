"""Request bodies every service takes: bounded in size, and JSON that is JSON, checked first.

A pure ASGI middleware in front of every route, so no service has to remember it:
- a body over `max_bytes` is 413 as soon as its Content-Length, or the bytes received so far
  (a chunked body has no length), say so; the rest is never buffered, only dropped (see
  DISCARD_BYTES) so that the client can read the answer;
- a JSON body (JSON content type, or none: FastAPI reads such a body as JSON) that is not
  UTF-8, does not parse, or nests deeper than the parser can recurse is 400;
- a POST to a GraphQL path must be a JSON object {query, variables, operationName} (400), sent
  as JSON or with no content type (415 otherwise: the GraphQL servers read nothing else, and
  a browser cannot send JSON across origins without a preflight, so no form can post one).
Every refusal is in the one error shape. Nesting needs no scan of its own: `json` stops with a
RecursionError about a thousand levels in, within a fraction of a millisecond even for
100,000 levels (benchmarks/bench_refusals.py), so catching it is the check.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from estore.kit.errors import error_payload

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# After a 413, what the client still sends is read and dropped up to this much, as nginx's
# lingering close does: a client that writes its whole body before reading (httpx does) then
# gets the 413 instead of a connection reset. Past it the connection is simply closed.
DISCARD_BYTES = 128 * 1024 * 1024


class BodyRefused(Exception):
    """Why a request body is not taken, as the status and message the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TooLarge(BodyRefused):
    """A body over the limit, with the rest unread; `declared` is its Content-Length if any."""

    def __init__(self, max_bytes: int, declared: int | None) -> None:
        super().__init__(413, f"request body is larger than the limit of {max_bytes} bytes")
        self.declared = declared


class BodyGuard:
    """Reads the body (up to `max_bytes`), checks it, and hands it on to the app unchanged."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        object_paths: Collection[str] = (),
        discard_bytes: int = DISCARD_BYTES,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.object_paths = frozenset(object_paths)
        self.discard_bytes = discard_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_declared_length(scope)
            body = await self._read(receive)
            if body is None:
                return  # the client went away before sending its body
            self._check_json(scope, body)
        except TooLarge as refused:
            await self._refuse_unread(refused, scope, receive, send)
            return
        except BodyRefused as refused:
            await _response(refused)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse_unread(
        self, refused: TooLarge, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer 413 at once, then drop what the client still sends (within discard_bytes).

        The response stays open while discarding: once it is complete the server stops
        reading. A client that asked `Expect: 100-continue` has sent nothing and sends nothing.
        """
        # An unread body leaves the connection unusable for a next request.
        response = _response(refused, {"Connection": "close"})
        start = {"type": "http.response.start", "status": 413, "headers": response.raw_headers}
        await send(start)
        await send({"type": "http.response.body", "body": response.body, "more_body": True})
        expects = Headers(scope=scope).get("expect", "").lower() == "100-continue"
        if not expects and (refused.declared or 0) <= self.discard_bytes:
            await _discard(receive, self.discard_bytes)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _check_declared_length(self, scope: Scope) -> None:
        declared = Headers(scope=scope).get("content-length")
        if declared is None:
            return
        if not declared.isdigit():
            raise BodyRefused(400, f"Content-Length {declared[:40]!r} is not a number of bytes")
        if int(declared) > self.max_bytes:
            raise TooLarge(self.max_bytes, int(declared))

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLarge(self.max_bytes, None)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _check_json(self, scope: Scope, body: bytes) -> None:
        content_type = Headers(scope=scope).get("content-type")
        if scope["path"] in self.object_paths and scope["method"] == "POST":
            if content_type is not None and not _is_json(content_type):
                raise BodyRefused(
                    415, f"a GraphQL request is sent as application/json, not {content_type[:60]}"
                )
            if not isinstance(parse_json(body) if body else None, dict):
                raise BodyRefused(
                    400, "a GraphQL request body must be a JSON object {query, variables, ...}"
                )
        elif body and _is_json(content_type):
            parse_json(body)


def parse_json(raw: bytes | str, what: str = "body") -> Any:
    """The JSON value of `raw`, or BodyRefused (400) saying in one line why it is not JSON."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise BodyRefused(
            400, f"{what} is not UTF-8: byte 0x{exc.object[exc.start]:02x} at {exc.start}"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise BodyRefused(400, f"{what} nests too deeply to parse as JSON") from None
    except ValueError as exc:
        raise BodyRefused(400, f"{what} is not JSON: {exc}") from None


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then what the client sends next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _response(refused: BodyRefused, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_payload(refused.status, refused.message), refused.status, headers=headers
    )


async def _discard(receive: Receive, budget: int) -> None:
    while budget > 0:
        message = await receive()
        budget -= len(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
