"""What tests, contracts and benchmarks share when they build clusters: cheap password hashing
and free loopback ports."""

from __future__ import annotations

import socket

# Settings overrides: checks measure behaviour, not argon2's cost.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}


def free_ports(count: int) -> list[int]:
    """Loopback ports free right now; all bound at once so no two come back the same."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports
