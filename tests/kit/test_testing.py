"""The helpers tests, contracts and benchmarks share: free ports that are free and distinct."""

from __future__ import annotations

import socket

from estore.kit.testing import free_ports


def test_free_ports_are_distinct_and_can_be_bound() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
