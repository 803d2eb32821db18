"""Composition of federation SDLs: API schema, routing map and errors naming the culprits."""

from __future__ import annotations

import pytest
from graphql import print_schema

from estore.gateway.compose import compose
from estore.gateway.errors import CompositionError

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: '
    '["@key", "@shareable", "@external", "@requires", "@provides", "@override", '
    '"@inaccessible", {name: "@tag", as: "@label"}])\n'
)
# As strawberry prints it (federation 2.11), internals included.
STRAWBERRY_USERS = """schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: [
  "@key"
  "@shareable"
]) {
  query: Query
}

type Query {
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
  me: User
}

type User @key(fields: "id") @key(fields: "org { id } login") {
  id: ID!
  login: String!
  org: Org!
  name: String! @shareable
}

type Org @shareable {
  id: ID!
}

scalar _Any

union _Entity = User

type _Service {
  sdl: String!
}
"""
REVIEWS = (
    LINK
    + """
type Query { reviews: [Review!]! }
type Review @key(fields: "id") {
  id: ID! author: User! @provides(fields: "name") secret: String @inaccessible
}
type User @key(fields: "id", resolvable: false) { id: ID! name: String! @external }
"""
)


def test_builds_the_api_schema_without_federation_internals() -> None:
    supergraph = compose({"users": STRAWBERRY_USERS, "reviews": REVIEWS})
    printed = print_schema(supergraph.api_schema)
    for internal in (
        "_entities",
        "_service",
        "_Any",
        "_Entity",
        "_Service",
        "link__",
        "@key",
        "secret",
    ):
        assert internal not in printed
    assert "me: User" in printed and "reviews: [Review!]!" in printed


def test_routing_map_records_keys_owners_and_directives() -> None:
    supergraph = compose({"users": STRAWBERRY_USERS, "reviews": REVIEWS})
    user = supergraph.types["User"]
    assert [k.fields for k in user.keys["users"]] == ["id", "org { id } login"]
    assert [(k.fields, k.resolvable) for k in user.keys["reviews"]] == [("id", False)]
    assert user.fields["name"].resolvers == ("users",)
    assert user.fields["name"].external_in == {"reviews"}
    assert supergraph.types["Review"].fields["author"].provides == {"reviews": "name"}
    assert supergraph.resolves("reviews", "User", "id")
    assert not supergraph.resolves("reviews", "User", "name")


def test_override_moves_a_field_to_the_overriding_subgraph() -> None:
    old = LINK + 'type Query { a: Int } type P @key(fields: "id") { id: ID! score: Int }'
    new = LINK + 'type P @key(fields: "id") { id: ID! score: Int @override(from: "old") }'
    route = compose({"old": old, "new": new}).types["P"].fields["score"]
    assert route.resolvers == ("new",)
    assert route.overrides == {"new": "old"}


def test_requires_is_recorded_per_subgraph() -> None:
    owner = LINK + 'type Query { p: P } type P @key(fields: "id") { id: ID! w: Int! }'
    ship = LINK + (
        'type P @key(fields: "id") { id: ID! w: Int! @external cost: Int! @requires(fields: "w") }'
    )
    assert compose({"owner": owner, "ship": ship}).types["P"].fields["cost"].requires == {
        "ship": "w"
    }


def test_unshareable_field_in_two_subgraphs_names_both_and_the_field() -> None:
    a = LINK + "type Query { a: Pos } type Pos { x: Int! }"
    b = LINK + "type Query { b: Pos } type Pos { x: Int! }"
    with pytest.raises(CompositionError, match=r"'Pos\.x'.*'a' and 'b'"):
        compose({"a": a, "b": b})


def test_shareable_value_type_composes() -> None:
    a = LINK + "type Query { a: Pos } type Pos @shareable { x: Int! }"
    b = LINK + "type Query { b: Pos } type Pos { x: Int! @shareable }"
    assert compose({"a": a, "b": b}).types["Pos"].fields["x"].resolvers == ("a", "b")


def test_external_type_differing_from_the_owner_is_an_error() -> None:
    owner = LINK + 'type Query { p: P } type P @key(fields: "id") { id: ID! w: Int! }'
    ship = LINK + (
        'type P @key(fields: "id") { id: ID! w: String @external cost: Int @requires(fields: "w") }'
    )
    with pytest.raises(CompositionError, match=r"'P\.w'.*'ship'.*'String'.*'owner'.*'Int!'"):
        compose({"owner": owner, "ship": ship})


def test_key_naming_a_missing_field_is_an_error() -> None:
    bad = LINK + 'type Query { p: P } type P @key(fields: "upc") { id: ID! }'
    with pytest.raises(CompositionError, match=r"Subgraph 'shop'.*P\.upc"):
        compose({"shop": bad})


def test_requires_on_a_field_not_marked_external_is_an_error() -> None:
    bad = (
        LINK + 'type Query { p: P } type P @key(fields: "id") '
        '{ id: ID! w: Int c: Int @requires(fields: "w") }'
    )
    with pytest.raises(CompositionError, match=r"'shop'.*'P\.w'.*not marked @external"):
        compose({"shop": bad})


def test_unreachable_field_is_an_error_naming_source_and_owner() -> None:
    a = LINK + "type Query { a: Box } type Box @shareable { id: ID! }"
    b = LINK + "type Query { b: Box } type Box @shareable { id: ID! size: Int }"
    with pytest.raises(CompositionError, match=r"'Box\.size'.*from subgraph 'a'.*'b'"):
        compose({"a": a, "b": b})


def test_a_value_type_under_a_shared_root_field_may_lack_a_field_the_other_side_has() -> None:
    a = LINK + "type Query { box: Box @shareable } type Box @shareable { id: ID! }"
    b = LINK + "type Query { box: Box @shareable } type Box @shareable { id: ID! size: Int }"
    assert compose({"a": a, "b": b}).types["Box"].fields["size"].resolvers == ("b",)


def test_a_value_type_also_under_an_unshared_field_must_reach_every_field() -> None:
    a = LINK + (
        "type Query { box: Box @shareable crate: Crate } type Crate { box: Box } "
        "type Box @shareable { id: ID! }"
    )
    b = LINK + "type Query { box: Box @shareable } type Box @shareable { id: ID! size: Int }"
    with pytest.raises(CompositionError, match=r"'Box\.size'.*from subgraph 'a'"):
        compose({"a": a, "b": b})


def test_kind_mismatch_and_bad_sdl_name_the_subgraph() -> None:
    a = LINK + "type Query { a: Int } type T { x: Int }"
    b = LINK + "type Query { b: Int @shareable } interface T { x: Int }"
    with pytest.raises(CompositionError, match=r"'T'.*'a'.*'b'"):
        compose({"a": a, "b": b})
    with pytest.raises(CompositionError, match=r"Subgraph 'broken'"):
        compose({"broken": "type Query {"})


def test_renamed_imports_and_namespaced_directives_are_understood() -> None:
    sdl = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
        'import: [{name: "@key", as: "@primaryKey"}])\n'
        "type Query { p: P } "
        'type P @primaryKey(fields: "id") { id: ID! n: Int @federation__shareable }'
    )
    supergraph = compose({"s": sdl})
    assert supergraph.types["P"].keys["s"][0].fields == "id"
    assert supergraph.types["P"].fields["n"].shareable_in == {"s"}
