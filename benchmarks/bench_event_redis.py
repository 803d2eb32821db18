"""Benchmark: the Redis server `estore up --processes` starts when REDIS_URL is unset, Debian's
redis-server against fakeredis's TCP server (`fakeredis.TcpFakeServer`, in its own process).

Run: .venv/bin/python benchmarks/bench_event_redis.py [--commands 5000] [--rounds 3]

One client sends the commands the event bus sends most (XADD of a small event, GET) one after
the other; the figure is each server's best round: commands a second, and the server process's
own CPU time per command (user + system, from psutil), which is what the services lose to it
on a two-core machine. Rounds alternate the servers so background load hits them alike.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import redis

from estore.kit.testing import free_ports

EVENT = {"type": "order:created", "order_id": "6f1c", "payload": "x" * 120}


@contextmanager
def served(kind: str) -> Iterator[tuple[int, psutil.Process]]:
    port = free_ports(1)[0]
    if kind == "redis-server":
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        command = [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
    else:
        server = f"TcpFakeServer(('127.0.0.1', {port}), server_type='redis').serve_forever()"
        command = [sys.executable, "-c", f"from fakeredis import TcpFakeServer; {server}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port, psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def one_round(kind: str, commands: int) -> tuple[float, float]:
    with served(kind) as (port, process):
        client = redis.Redis(port=port)
        cpu_before = sum(process.cpu_times()[:2])
        started = time.perf_counter()
        for _ in range(commands // 2):
            client.xadd("order:created", EVENT)
            client.get("revoked:token")
        elapsed = time.perf_counter() - started
        cpu = sum(process.cpu_times()[:2]) - cpu_before
    return commands / elapsed, cpu / commands * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for kind in ("redis-server", "fakeredis"):
            rate, cpu_us = one_round(kind, args.commands)
            if kind not in best or rate > best[kind][0]:
                best[kind] = (rate, cpu_us)
    base_rate, base_cpu = best["redis-server"]
    for kind, (rate, cpu_us) in best.items():
        print(
            f"{kind:13} {rate:7.0f} commands/s  server CPU {cpu_us:5.0f} us/command  "
            f"(x{base_rate / rate:.1f} slower, x{cpu_us / base_cpu:.1f} the CPU)"
        )


if __name__ == "__main__":
    main()
