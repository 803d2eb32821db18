"""Views of documents: fields taken by name, what the view does not name left behind."""

from __future__ import annotations

import pytest
import strawberry
from pydantic import BaseModel

from estore.kit.views import View, graphql_of


class Account(BaseModel):
    id: str
    name: str
    password_hash: str
    visits: int

    @property
    def regular(self) -> bool:
        return self.visits > 10


class AccountView(View):
    id: str
    name: str
    regular: bool


@strawberry.type
class AccountType:
    id: strawberry.ID
    name: str
    greeting: str


ADA = Account(id="a1", name="Ada", password_hash="secret", visits=12)


def test_a_view_takes_its_fields_and_properties_and_leaves_the_rest() -> None:
    view = AccountView.of(ADA)
    assert view.model_dump() == {"id": "a1", "name": "Ada", "regular": True}


def test_a_graphql_type_copies_same_named_fields_and_takes_what_it_computes() -> None:
    shown = graphql_of(AccountType, ADA, greeting=f"hello {ADA.name}")
    assert (shown.id, shown.name, shown.greeting) == ("a1", "Ada", "hello Ada")


def test_a_graphql_field_the_document_lacks_must_be_computed() -> None:
    with pytest.raises(AttributeError, match="greeting"):
        graphql_of(AccountType, ADA)
