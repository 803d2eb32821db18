"""Paging arguments, checked alike on every list: a size or offset out of range is bad input.

Clamping a bad page silently (a negative offset read as 0) answers something the client did
not ask for; refusing it says what is wrong.
"""

from __future__ import annotations

from estore.kit.errors import BadUserInput

# Skipping costs the store a scan of everything skipped: deeper than this, page by cursor.
MAX_OFFSET = 10_000


def page_size(value: int, maximum: int, name: str = "limit") -> int:
    """`value` if it is a page size from 1 to `maximum`."""
    if not 1 <= value <= maximum:
        raise BadUserInput(f"{name} must be between 1 and {maximum}, got {value}")
    return value


def page_offset(value: int, name: str = "offset", maximum: int | None = MAX_OFFSET) -> int:
    """`value` if it is a position from 0 to `maximum` (no upper bound when None)."""
    if value < 0 or (maximum is not None and value > maximum):
        bound = f"between 0 and {maximum}" if maximum is not None else "0 or more"
        raise BadUserInput(f"{name} must be {bound}, got {value}")
    return value
