"""In-process HTTP transport: hands an httpx request straight to an ASGI app, no sockets.

`httpx.ASGITransport` costs about 5x a direct ASGI call. Profiling shows where: it imports
`sniffio` on every request to pick an event type (a failed import walks `sys.path` each time
when sniffio is absent), reads the request body through an async iterator, and returns a
streamed response that `AsyncClient` then reads back through httpx's decoder chain. This
transport builds the scope from the already-parsed URL, feeds the body in one message, and
returns a response whose body is already loaded.

Unhandled app exceptions behave as they would behind a real server, so that a service cannot
tell in-process from served (ARCHITECTURE.md, "three ways to run the same code"): before the
response starts the caller gets a 500; after a complete response (Starlette sends its 500 and
then re-raises) the caller gets what was sent; mid-response the caller gets
`httpx.RemoteProtocolError`, as for a dropped connection. The exception is logged, and
`raise_app_exceptions=True` re-raises it instead, for tests that want the traceback.

Lifespan is not this transport's job: whoever assembles the cluster runs the apps' lifespans.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

logger = logging.getLogger(__name__)

_ASGI = {"version": "3.0", "spec_version": "2.3"}
# The services' one error shape (estore.kit.errors), written out to keep this module free of it.
_ERROR_BODY = b'{"error":{"code":"internal","message":"unhandled error in the called service"}}'
_ERROR_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_ERROR_BODY)).encode()),
]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Exchange:
    """One request/response exchange: the ASGI `receive` and `send` callables and their state."""

    __slots__ = (
        "_body",
        "_done",
        "_head",
        "_request_sent",
        "chunks",
        "complete",
        "headers",
        "status",
    )

    def __init__(self, body: bytes, head: bool) -> None:
        self._body = body
        self._head = head
        self._request_sent = False
        self._done: asyncio.Future[None] | None = None
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = False

    async def receive(self) -> Message:
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        # A second receive means the app is watching for disconnect (streaming responses do):
        # the client stays connected until the response is complete, as a real one would.
        if not self.complete:
            if self._done is None:
                self._done = asyncio.get_running_loop().create_future()
            await self._done
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("ASGI app sent http.response.start twice")
            self.status = message["status"]
            self.headers = list(message.get("headers", ()))
        elif kind == "http.response.body":
            if self.status is None or self.complete:
                raise RuntimeError("ASGI app sent a body outside a response")
            body = message.get("body", b"")
            if body and not self._head:
                self.chunks.append(body)
            if not message.get("more_body", False):
                self._finish()

    def _finish(self) -> None:
        self.complete = True
        if self._done is not None and not self._done.done():
            self._done.set_result(None)


class InProcessTransport(httpx.AsyncBaseTransport):
    """An httpx transport that calls one ASGI app in the running event loop."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_app_exceptions: bool = False,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await _request_body(request)
        exchange = _Exchange(body, request.method == "HEAD")
        try:
            await self.app(self._scope(request), exchange.receive, exchange.send)
        except Exception as exc:
            self._after_app_error(exc, exchange, request)
        finally:
            exchange._finish()
        if exchange.status is None:
            raise httpx.RemoteProtocolError("ASGI app returned without a response", request=request)
        return _loaded_response(exchange, request)

    def _scope(self, request: httpx.Request) -> dict[str, Any]:
        url = request.url
        scheme = url.scheme
        raw_path, _, query = url.raw_path.partition(b"?")
        return {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": request.method,
            "scheme": scheme,
            "path": url.path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": self.root_path,
            # ASGI wants lowercased names; httpx keeps the caller's spelling in `raw`.
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, url.port or _DEFAULT_PORTS.get(scheme)),
            "client": self.client,
        }

    def _after_app_error(self, exc: Exception, exchange: _Exchange, request: httpx.Request) -> None:
        if self.raise_app_exceptions:
            raise exc
        logger.error(
            "unhandled exception in ASGI app for %s %s",
            request.method,
            request.url,
            exc_info=exc,
        )
        if exchange.status is None:
            exchange.status = 500
            exchange.headers = list(_ERROR_HEADERS)
            exchange.chunks = [] if request.method == "HEAD" else [_ERROR_BODY]
        elif not exchange.complete:
            raise httpx.RemoteProtocolError(
                "ASGI app failed in the middle of its response", request=request
            ) from exc


async def _request_body(request: httpx.Request) -> bytes:
    if isinstance(request.stream, httpx.ByteStream):
        # In memory already (ServiceClient builds requests this way): no need to await it.
        return b"".join(request.stream)
    # A streamed body: read it whole; the bodies services exchange are small JSON documents.
    return await request.aread()


def _loaded_response(exchange: _Exchange, request: httpx.Request) -> httpx.Response:
    body = b"".join(exchange.chunks)
    response = httpx.Response(
        exchange.status or 500,
        headers=exchange.headers,
        stream=httpx.ByteStream(body),
        request=request,
    )
    if not any(k.lower() == b"content-encoding" for k, _ in exchange.headers):
        # Reading a response back through httpx's decoder chain costs as much as the rest of
        # the hop. An identity-encoded body needs no decoding, so hand it over as read;
        # encoded bodies (gzip middleware) still go through `aread` and its decoders.
        response._content = body
        response.is_stream_consumed = True
        response.is_closed = True
    return response
