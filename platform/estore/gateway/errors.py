"""Gateway exceptions: composition and planning failures, and the GraphQL error codes we emit."""

from __future__ import annotations

DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"


class CompositionError(Exception):
    """The subgraphs do not compose; the message names the subgraphs, types and fields at fault."""


class PlanningError(Exception):
    """A client operation cannot be routed over the composed subgraphs."""
