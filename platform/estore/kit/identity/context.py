"""The caller of the request being served, and the headers that forward it on outgoing calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from estore.kit.identity.caller import Caller
from estore.kit.identity.internal import CALLER_HEADER, InternalIdentity


@dataclass(frozen=True)
class _Forwarding:
    caller: Caller
    internal: InternalIdentity


_current: ContextVar[_Forwarding | None] = ContextVar("estore_current_caller", default=None)


def get_current_caller() -> Caller | None:
    forwarding = _current.get()
    return None if forwarding is None else forwarding.caller


@contextmanager
def acting_as(caller: Caller | None, internal: InternalIdentity) -> Iterator[None]:
    """Make `caller` the current caller inside the block (None: anonymous), then restore.

    Restoring matters: in-process service calls run in the calling service's task, so a
    caller set and left behind would leak into the caller's later requests.
    """
    token = _current.set(None if caller is None else _Forwarding(caller, internal))
    try:
        yield
    finally:
        _current.reset(token)


def caller_headers() -> dict[str, str]:
    """Headers that forward the current caller; empty when anonymous.

    Signed at each call, not once per request, so a long-running request (a checkout saga
    waiting on payment) still forwards a value younger than the verifier's max age.
    """
    forwarding = _current.get()
    if forwarding is None:
        return {}
    return {CALLER_HEADER: forwarding.internal.sign(forwarding.caller)}
