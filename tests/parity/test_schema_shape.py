"""The schema normaliser parity relies on: order is ignored, every real difference is named."""

from __future__ import annotations

from tests.parity.schema_shape import differences, normalised, shape


def test_a_field_order_difference_alone_is_not_a_difference() -> None:
    one = normalised("type Query { a: Int b(x: Int = 1, y: String): String }")
    other = normalised("type Query { b(y: String, x: Int = 1): String a: Int }")
    assert differences(shape(one), shape(other)) == []


def test_a_real_difference_is_named_by_its_coordinate() -> None:
    one = normalised("type Query { a: Int b(x: Int = 1): String }")
    other = normalised('type Query { """The a""" a: Int! b(x: Int = 2): String }')
    assert differences(shape(one), shape(other)) == [
        'Query.a: ours Int | Apollo Int! "The a"',
        "Query.b(x:): ours Int = 1 | Apollo Int = 2",
    ]
