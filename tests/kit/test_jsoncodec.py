"""The kit's orjson codec decodes and encodes as the standard library does."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estore.kit.jsoncodec import FastJSONResponse, dumps, loads

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
floatless = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text()),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _standard(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@given(values)
def test_decoding_gives_what_the_standard_library_gives(value: Any) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text.encode())


@given(floatless)
def test_encoding_writes_the_standard_librarys_compact_bytes(value: Any) -> None:
    assert dumps(value) == _standard(value)


@given(values.filter(lambda v: not isinstance(v, int) or abs(v) < 2**63))
def test_encoded_values_decode_to_themselves(value: Any) -> None:
    try:
        encoded = dumps(value)
    except TypeError:  # an integer beyond 64 bits inside: orjson refuses, json would not
        return
    assert json.loads(encoded) == value


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN}',
        "[Infinity, -Infinity, 1e400]",
        str(2**80),
        '{"n": -9223372036854775809}',
        "[18446744073709551616]",
    ],
)
def test_what_orjson_refuses_is_decoded_by_the_standard_library(text: str) -> None:
    decoded, expected = loads(text), json.loads(text)
    assert repr(decoded) == repr(expected)  # NaN is unequal to itself


def test_utf16_bodies_decode_and_bad_ones_fail_as_json_fails() -> None:
    assert loads('{"é": 1}'.encode("utf-16")) == {"é": 1}
    for bad in (b"{", b'{"a": 1,}', b"\xff\xfe\x00"):
        with pytest.raises(ValueError) as ours:
            loads(bad)
        with pytest.raises(ValueError) as theirs:
            json.loads(bad)
        assert type(ours.value) is type(theirs.value)


def test_keys_that_are_not_strings_are_written_as_strings() -> None:
    assert dumps({1: "a", 2.5: "b"}) == _standard({1: "a", 2.5: "b"})


def test_the_response_renders_compact_utf8_and_nulls_what_is_not_finite() -> None:
    response = FastJSONResponse({"name": "Zoë", "n": [1, 2], "x": math.inf})
    assert response.body == '{"name":"Zoë","n":[1,2],"x":null}'.encode()
    assert response.headers["content-type"] == "application/json"
