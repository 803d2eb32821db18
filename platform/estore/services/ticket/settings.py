"""Ticket service settings: the reopen window, page sizes and the live chat's limits."""

from __future__ import annotations

from typing import ClassVar

from estore.kit.settings import ServiceSettings


class TicketSettings(ServiceSettings):
    service: ClassVar[str] = "ticket"

    # A resolved or closed ticket may be reopened this long after it was resolved.
    reopen_window_seconds: int = 7 * 24 * 3600
    message_max_chars: int = 4000
    # Live chat: a text frame above this many bytes is refused with close code 1009.
    ws_max_frame_bytes: int = 16 * 1024
    # No frame from the client for this long closes the connection (send a ping to stay).
    ws_idle_timeout_seconds: float = 300.0
    # Without a token in the URL, the first frame must authenticate within this time.
    ws_auth_timeout_seconds: float = 10.0
    # Frames waiting for one client; a client that lets more pile up is disconnected.
    ws_send_queue: int = 256
    # How long a connection holds later messages back while an earlier one is still being
    # stored by another writer, before it asks the store and moves on.
    ws_gap_grace_seconds: float = 1.0
