"""Live chat over WebSocket as a Locust request: connect, wait for `ready`, send one message,
wait for its `ack`; the whole exchange is timed as `ws Chat`."""

from __future__ import annotations

import json
import time
from typing import Any

import websocket
from locust import User

TIMEOUT_S = 5.0
MAX_FRAMES = 50


def _until(conn: websocket.WebSocket, kind: str) -> dict[str, Any]:
    for _ in range(MAX_FRAMES):
        frame: dict[str, Any] = json.loads(conn.recv())
        if frame.get("type") == kind:
            return frame
        if frame.get("type") == "error":
            raise RuntimeError(f"chat error {frame.get('code')}: {frame.get('message')}")
    raise RuntimeError(f"no {kind} frame within {MAX_FRAMES} frames")


def chat_live(user: User, url: str) -> None:
    started = time.perf_counter()
    error: Exception | None = None
    try:
        conn = websocket.create_connection(url, timeout=TIMEOUT_S)
        try:
            _until(conn, "ready")
            conn.send(json.dumps({"type": "message", "body": "Any news?", "ref": "1"}))
            _until(conn, "ack")
        finally:
            conn.close()
    except Exception as exc:  # every failure of the exchange is reported, never raised
        error = exc
    user.environment.events.request.fire(
        request_type="WS",
        name="ws Chat",
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=error,
        context={},
    )
