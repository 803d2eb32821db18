"""MaxItems: a list over its documented maximum is refused before any item is validated."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, Field, field_validator

from estore.kit.inputs import MaxItems, TooManyItems

validations = 0


class Line(BaseModel):
    sku: str

    @field_validator("sku")
    @classmethod
    def _count(cls, value: str) -> str:
        global validations
        validations += 1
        return value


class Cart(BaseModel):
    lines: Annotated[list[Line], Field(min_length=1), MaxItems(3)]
    tags: Annotated[dict[str, str], MaxItems(2)] = {}


def test_a_list_over_the_limit_is_refused_before_one_item_is_validated() -> None:
    global validations
    validations = 0
    with pytest.raises(TooManyItems) as refused:
        Cart.model_validate({"lines": [{"sku": "x"}] * 100_000})
    assert str(refused.value) == "lines: at most 3 are taken, got 100000"
    assert validations == 0
    assert refused.value.status == 400 and refused.value.graphql_code == "BAD_USER_INPUT"


def test_a_list_at_the_limit_is_validated_as_usual() -> None:
    assert len(Cart.model_validate({"lines": [{"sku": "x"}] * 3}).lines) == 3


def test_a_mapping_counts_its_keys() -> None:
    with pytest.raises(TooManyItems, match="tags: at most 2"):
        Cart.model_validate({"lines": [{"sku": "x"}], "tags": {"a": "1", "b": "2", "c": "3"}})


def test_the_limit_is_written_into_the_json_schema() -> None:
    properties = Cart.model_json_schema()["properties"]
    assert properties["lines"]["maxItems"] == 3 and properties["lines"]["minItems"] == 1
    assert properties["tags"]["maxProperties"] == 2
