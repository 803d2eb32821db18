"""JSON on the request path through orjson, giving what the standard library gives.

Encoding is compact UTF-8, as `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`
writes it (keys that are not strings written as strings, as `json` does). Decoding falls
back on the standard library wherever orjson refuses what `json` accepts (NaN and Infinity
literals, numbers beyond a double's range, UTF-16 and UTF-32 bodies) and wherever a run of
19 or more digits appears (orjson reads an integer outside [-2**63, 2**64) as a float, `json`
as the exact integer), so a body decodes to the same value, or fails with the same error,
either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.responses import JSONResponse

_LONG_DIGITS = re.compile(rb"\d{19}")
_LONG_DIGITS_TEXT = re.compile(r"\d{19}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    long_digits = _LONG_DIGITS if isinstance(data, bytes) else _LONG_DIGITS_TEXT
    if long_digits.search(data) is None:  # type: ignore[arg-type]
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse rendered by orjson (a value that is not finite becomes null,
    where Starlette's fails the response)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
