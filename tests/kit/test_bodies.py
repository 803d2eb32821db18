"""BodyGuard: size limits read no further than needed; malformed JSON is a 400, not a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from estore.kit.bodies import BodyGuard

LIMIT = 1000


class EchoApp:
    """Answers with the body it read, so a test sees what reached the app."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


class Client:
    """Sends chunks one `receive` at a time and records what happened in which order."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.received = 0
        self.sent: list[Message] = []
        self.events: list[str] = []

    async def receive(self) -> Message:
        self.received += 1
        self.events.append("receive")
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.events.append(message["type"])

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


def scope(path: str = "/api/v1/things", method: str = "POST", **headers: str) -> Scope:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "method": method, "path": path, "headers": raw}


async def call(app: Any, sent: Scope, *chunks: bytes) -> Client:
    client = Client(iter(chunks))
    guard = BodyGuard(app, max_bytes=LIMIT, object_paths={"/graphql"})
    await guard(sent, client.receive, client.send)
    return client


def endless() -> Iterator[bytes]:
    """A client that would never stop sending."""
    return iter(lambda: b"x" * 300, None)


async def test_a_declared_length_over_the_limit_is_answered_before_a_byte_is_read() -> None:
    app = EchoApp()
    client = await call(app, scope(content_length=str(LIMIT + 1)), b"x" * (LIMIT + 1))
    assert client.status == 413 and app.bodies == []
    assert client.events[:2] == ["http.response.start", "http.response.body"]
    assert client.json() == {
        "error": {
            "code": "too_large",
            "message": "request body is larger than the limit of 1000 bytes",
        }
    }
    assert (b"connection", b"close") in client.sent[0]["headers"]


async def test_after_a_413_the_rest_is_dropped_within_a_budget_then_the_answer_ends() -> None:
    client = Client(endless())
    guard = BodyGuard(EchoApp(), max_bytes=LIMIT, discard_bytes=1500)
    await guard(scope(content_length=str(LIMIT + 1)), client.receive, client.send)
    assert client.events[2:] == ["receive"] * 5 + ["http.response.body"]
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.parametrize(
    "headers",
    [{"content_length": str(10_000), "expect": "100-continue"}, {"content_length": str(10_000)}],
)
async def test_nothing_is_read_from_a_client_that_waits_or_would_send_past_the_budget(
    headers: dict[str, str],
) -> None:
    client = Client(endless())
    guard = BodyGuard(EchoApp(), max_bytes=LIMIT, discard_bytes=5000)
    await guard(scope(**headers), client.receive, client.send)
    assert client.status == 413 and client.received == 0


async def test_a_chunked_body_is_cut_off_once_it_passes_the_limit() -> None:
    client = Client(endless())
    app = EchoApp()
    await BodyGuard(app, max_bytes=LIMIT, discard_bytes=0)(scope(), client.receive, client.send)
    assert client.status == 413 and client.received == 4 and app.bodies == []


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    app = EchoApp()
    client = await call(app, scope(content_type="application/json"), b'{"a": ', b"[1, 2]}")
    assert client.status == 200 and app.bodies == [b'{"a": [1, 2]}']


async def test_a_body_of_exactly_the_limit_is_taken() -> None:
    app = EchoApp()
    client = await call(app, scope(content_type="text/plain"), b"x" * LIMIT)
    assert client.status == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body nests too deeply to parse as JSON"),
        (b'{"q": "\xff"}', "body is not UTF-8: byte 0xff at 7"),
        (b'{"q": ', "body is not JSON: Expecting value: line 1 column 7 (char 6)"),
    ],
)
async def test_malformed_json_is_a_400_in_the_one_error_shape(body: bytes, message: str) -> None:
    app = EchoApp()
    client = Client(iter([body]))
    await BodyGuard(app, max_bytes=len(body))(
        scope(content_type="application/json; charset=utf-8"), client.receive, client.send
    )
    assert client.status == 400 and app.bodies == []
    assert client.json() == {"error": {"code": "bad_request", "message": message}}


async def test_a_body_without_a_content_type_is_checked_as_json() -> None:
    client = await call(EchoApp(), scope(), b"[[[")
    assert client.status == 400


async def test_a_body_of_another_type_is_not_read_as_json() -> None:
    client = await call(EchoApp(), scope(content_type="text/plain"), b"[[[")
    assert client.status == 200


@pytest.mark.parametrize("content_type", ["application/json", None])
@pytest.mark.parametrize("body", [b"null", b"1", b'"x"', b"[]", b"", b"{"])
async def test_a_graphql_post_must_be_a_json_object(body: bytes, content_type: str | None) -> None:
    app = EchoApp()
    headers = {} if content_type is None else {"content_type": content_type}
    client = await call(app, scope("/graphql", **headers), body)
    assert client.status == 400 and app.bodies == []
    assert client.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_graphql_post_of_another_media_type_is_a_415(content_type: str) -> None:
    app = EchoApp()
    client = await call(app, scope("/graphql", content_type=content_type), b'{"query": "{a}"}')
    assert client.status == 415 and app.bodies == []
    assert client.json()["error"] == {
        "code": "unsupported_media_type",
        "message": f"a GraphQL request is sent as application/json, not {content_type}",
    }


async def test_a_graphql_get_and_an_object_post_pass() -> None:
    app = EchoApp()
    assert (await call(app, scope("/graphql", method="GET"))).status == 200
    posted = await call(app, scope("/graphql", content_type="application/json"), b'{"query": 1}')
    assert posted.status == 200


async def test_a_content_length_that_is_not_a_number_is_a_400() -> None:
    client = await call(EchoApp(), scope(content_length="12; rm -rf"), b"")
    assert client.status == 400 and "not a number" in client.json()["error"]["message"]


async def test_a_client_gone_before_its_body_gets_no_answer_and_the_app_no_call() -> None:
    app = EchoApp()
    sent: list[Message] = []

    async def gone() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BodyGuard(app)(scope(), gone, send)
    assert sent == [] and app.bodies == []


async def test_websockets_pass_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        raise AssertionError("the guard must not read a websocket")

    async def ignore(message: Message) -> None:
        raise AssertionError("the guard must not answer a websocket")

    await BodyGuard(app)({"type": "websocket", "path": "/graphql", "headers": []}, nothing, ignore)
    assert seen == ["websocket"]
