"""Product subgraph: the Product entity, listings, reviews, and Category extended with products."""

from __future__ import annotations

import strawberry

from estore.kit.graphql import SubgraphSchema


@strawberry.type
class Query:
    @strawberry.field
    def ping(self) -> bool:
        return True


def build_schema() -> SubgraphSchema:
    return SubgraphSchema(query=Query)
