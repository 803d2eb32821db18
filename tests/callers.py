"""Callers tests act as, and the signed header a gateway or peer service sends for them."""

from __future__ import annotations

from estore.cluster import Cluster
from estore.kit.identity import Caller, Role

ADMIN = Caller(user_id="admin-1", email="admin@example.com", roles=frozenset({Role.ADMIN}))
SUPPORT = Caller(user_id="support-1", email="help@example.com", roles=frozenset({Role.SUPPORT}))
ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
BOB = Caller(user_id="bob", email="bob@example.com", roles=frozenset({Role.CUSTOMER}))


def as_caller(cluster: Cluster, caller: Caller) -> dict[str, str]:
    """The header another service (or the gateway) sends on `caller`'s behalf."""
    return cluster.caller_headers(caller)


def as_gateway(cluster: Cluster, address: str = "203.0.113.7") -> dict[str, str]:
    """The header the gateway sends for an anonymous shopper: the client's address, signed."""
    return cluster.client_headers(address)
