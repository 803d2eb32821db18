"""InProcessTransport: a request reaches an ASGI app whole and comes back as from a server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import StreamingResponse

from estore.kit.transport import InProcessTransport


def build_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo/{item}", methods=["GET", "POST", "PUT", "DELETE"])
    async def echo(item: str, request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "item": item,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "tags": request.headers.getlist("x-tag"),
            "host": request.headers["host"],
            "body": (await request.body()).decode(),
        }

    @app.post("/created", status_code=201)
    async def created(response: Response) -> dict[str, str]:
        response.headers.append("x-multi", "1")
        response.headers.append("x-multi", "2")
        return {"id": "42"}

    @app.api_route("/missing", methods=["GET", "HEAD"])
    async def missing() -> Response:
        return Response(status_code=404, content=b"no such thing")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug in the called service")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                await asyncio.sleep(0)  # let the disconnect listener run between chunks
                yield f"chunk{n};".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/big")
    async def big() -> Response:
        return Response(content=b"x" * 5000, media_type="text/plain")

    app.add_middleware(GZipMiddleware, minimum_size=100)
    return app


@pytest.fixture
def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=InProcessTransport(build_app()), base_url="http://product")


async def test_request_reaches_the_app_with_path_query_repeated_headers_and_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/echo/a%20b",
        params=[("q", "1"), ("q", "two words")],
        headers=[("X-Tag", "red"), ("X-Tag", "blue")],
        content=b'{"n":1}',
    )

    assert response.status_code == 200
    assert response.json() == {
        "method": "POST",
        "item": "a b",
        "raw_path": "/echo/a%20b",
        "query": "q=1&q=two+words",
        "tags": ["red", "blue"],
        "host": "product",
        "body": '{"n":1}',
    }


async def test_streamed_request_body_is_read_whole(client: httpx.AsyncClient) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"part1,"
        yield b"part2"

    response = await client.put("/echo/x", content=body())

    assert response.json()["body"] == "part1,part2"


async def test_status_and_repeated_response_headers_come_back(client: httpx.AsyncClient) -> None:
    created = await client.post("/created")
    missing = await client.get("/missing")

    assert created.status_code == 201
    assert created.headers.get_list("x-multi") == ["1", "2"]
    assert missing.status_code == 404
    assert missing.content == b"no such thing"


async def test_response_reads_like_one_from_a_socket(client: httpx.AsyncClient) -> None:
    response = await client.get("/echo/x")

    streamed = b"".join([part async for part in response.aiter_bytes()])
    assert streamed == response.content == await response.aread()
    assert response.json()["item"] == "x"
    assert response.request.url == "http://product/echo/x"
    with pytest.raises(httpx.HTTPStatusError):
        (await client.get("/missing")).raise_for_status()


async def test_streaming_response_is_collected_whole(client: httpx.AsyncClient) -> None:
    # StreamingResponse listens for a disconnect while it sends: the transport must not
    # report one before the response is complete, or the body would be cut short.
    response = await client.get("/stream")

    assert response.text == "chunk0;chunk1;chunk2;"


async def test_encoded_response_is_decoded(client: httpx.AsyncClient) -> None:
    response = await client.get("/big", headers={"accept-encoding": "gzip"})

    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"x" * 5000


async def test_head_response_has_headers_but_no_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/missing")

    assert response.status_code == 404
    assert response.content == b""


async def test_unhandled_app_exception_becomes_a_500_and_is_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="estore.kit.transport"):
        response = await client.get("/boom")

    assert response.status_code == 500
    assert any("bug in the called service" in str(r.exc_info) for r in caplog.records)


async def test_exception_before_the_response_starts_becomes_a_500_error_document() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("crashed before answering")

    async with httpx.AsyncClient(transport=InProcessTransport(app), base_url="http://x") as c:
        response = await c.get("/")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"


async def test_raise_app_exceptions_hands_the_exception_to_the_caller() -> None:
    transport = InProcessTransport(build_app(), raise_app_exceptions=True)

    async with httpx.AsyncClient(transport=transport, base_url="http://x") as c:
        with pytest.raises(RuntimeError, match="bug in the called service"):
            await c.get("/boom")


async def test_exception_in_the_middle_of_a_response_is_a_dropped_connection() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        raise ValueError("crashed mid-response")

    async with httpx.AsyncClient(transport=InProcessTransport(app), base_url="http://x") as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/")


async def test_app_that_returns_without_answering_is_a_protocol_error() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    async with httpx.AsyncClient(transport=InProcessTransport(app), base_url="http://x") as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/")


async def test_scope_carries_server_client_and_root_path() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = InProcessTransport(app, root_path="/api", client=("10.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="https://shop:8443") as c:
        response = await c.get("/p")

    assert response.status_code == 204
    assert (seen["scheme"], seen["server"], seen["client"]) == (
        "https",
        ("shop", 8443),
        ("10.0.0.1", 5555),
    )
    assert (seen["path"], seen["root_path"], seen["http_version"]) == ("/p", "/api", "1.1")
    assert all(name == name.lower() for name, _ in seen["headers"])
