"""Descriptions in the composed API schema: federation's pick when subgraphs disagree."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from estore.gateway.compose import compose

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", '
    'import: ["@key", "@shareable"])\n'
)


def _money_input(query: str, description: str | None) -> str:
    doc = f'  """{description}"""\n' if description else ""
    return (
        LINK
        + f"type Query {{ {query}(price: MoneyInput!): Int }}\n"
        + f"input MoneyInput {{\n{doc}  amount: Int!\n}}\n"
    )


def test_an_input_field_keeps_the_one_description_any_subgraph_gives() -> None:
    supergraph = compose(
        {"coupon": _money_input("quote", None), "product": _money_input("price", "Minor units")}
    )
    money = supergraph.api_schema.get_type("MoneyInput")
    assert isinstance(money, GraphQLInputObjectType)
    assert money.fields["amount"].description == "Minor units"


def test_the_most_common_description_wins_and_ties_go_to_the_first_subgraph_by_name() -> None:
    shared = '"""{text}""" type Money @shareable {{ amount: Int! }}\n'
    sdls = {
        "a": LINK + "type Query { a: Money }\n" + shared.format(text="Cents"),
        "b": LINK + "type Query { b: Money }\n" + shared.format(text="Minor units"),
        "c": LINK + "type Query { c: Money }\n" + shared.format(text="Minor units"),
    }
    money = compose(sdls).api_schema.get_type("Money")
    tie = compose({k: v for k, v in sdls.items() if k != "c"}).api_schema.get_type("Money")
    assert isinstance(money, GraphQLObjectType) and isinstance(tie, GraphQLObjectType)
    assert money.description == "Minor units"
    assert tie.description == "Cents"


def test_an_enum_value_described_in_one_subgraph_keeps_its_description() -> None:
    enum = "enum Kind {{ {doc}PERCENT FIXED }}\n"
    sdls = {
        "coupon": LINK + "type Query { k: Kind }\n" + enum.format(doc='"""Off the total""" '),
        "order": LINK + "type Query { o: Kind }\n" + enum.format(doc=""),
    }
    kind = compose(sdls).api_schema.get_type("Kind")
    assert isinstance(kind, GraphQLEnumType)
    assert kind.values["PERCENT"].description == "Off the total"
