"""Chaos Toolkit providers: probes and actions over an in-process cluster on simulated time.

The experiments in `chaos/experiments/` call these functions (Python provider, module
`chaos.toolkit`). One session per experiment run: a cluster built on first use, driven on one
event loop that runs only while an activity runs, under a `SimClock`, so an experiment is as
replayable as a campaign schedule. Faults go through the kit's fault seam (the same one the
campaigns drive), which counts what it injected: a run in which nothing was injected is
inconclusive, never passed.

Figures are simulated seconds: deadlines, time to answer, time back to steady state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from chaos.run import ADMIN, CURRENCY, overrides
from chaos.simclock import SimClock
from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.faults import Faults
from estore.kit.identity import CALLER_HEADER, Caller, Role
from estore.kit.ids import SeededIds, using

T = TypeVar("T")
SERVICES = ("product", "category", "coupon", "payment", "order")
CARD = "4242424242424242"
# The longest a checkout may take to answer while a dependency misbehaves: the order
# service's deadline on its peers, its charge attempts, and compensation, with margin.
CHECKOUT_LIMIT_SECONDS = 30.0
BROWSE_PATHS = ("/api/v1/products?limit=10", "/api/v1/categories")
SHOPPER = Caller(user_id="shopper-1", email="shopper@example.com", roles=frozenset({Role.CUSTOMER}))


@dataclass
class Session:
    """One experiment's cluster: built lazily, stepped only while an activity runs."""

    seed: int = 1
    clock: SimClock = field(default_factory=SimClock)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.faults = Faults(seed=self.seed)
        self._ids = SeededIds(f"experiment:{self.seed}")
        self.cluster = self._in_context(
            lambda: Cluster(
                Wiring(clock=self.clock, faults=self.faults),
                services=SERVICES,
                overrides=overrides(),
            )
        )
        self.products: list[str] = []
        self.category = ""
        self.orders = 0
        self.run(self._start())

    def _in_context(self, build: Any) -> Any:
        with using(self._ids):
            return build()

    def run(self, call: Awaitable[T], limit: float = CHECKOUT_LIMIT_SECONDS * 4) -> T:
        """Run `call` to its end, moving simulated time whenever every task waits on it."""

        async def driven() -> T:
            task = asyncio.ensure_future(call)
            start = self.clock.monotonic()
            while not task.done():
                if self.clock.monotonic() - start > limit:
                    task.cancel()
                    raise TimeoutError(f"no answer within {limit:g} simulated seconds")
                await self.clock.run_until(self.clock.monotonic() + 0.05)
            return task.result()

        with using(self._ids):
            return self.loop.run_until_complete(driven())

    async def _start(self) -> None:
        await self.cluster.start()
        # Categories are made through the category subgraph's GraphQL mutation only.
        create = {"query": 'mutation { createCategory(input: {name: "Experiments"}) { id } }'}
        async with self.cluster.client("category") as category:
            answer = await category.post("/graphql", json=create, headers=self.as_(ADMIN))
            answer.raise_for_status()
            self.category = answer.json()["data"]["createCategory"]["id"]
        async with self.cluster.client("product") as product:
            for n in range(3):
                body = {
                    "sku": f"EXP-{n}",
                    "name": f"Experiment product {n}",
                    "price": {"amount": 1000 + n, "currency": CURRENCY},
                    "stock": 10_000,
                }
                answer = await product.post("/api/v1/products", json=body, headers=self.as_(ADMIN))
                answer.raise_for_status()
                self.products.append(answer.json()["id"])
        async with self.cluster.client("coupon") as coupon:
            body = {"code": "EXPERIMENT", "kind": "PERCENT", "percent": 10}
            answer = await coupon.post("/api/v1/coupons", json=body, headers=self.as_(ADMIN))
            answer.raise_for_status()

    def as_(self, caller: Caller) -> dict[str, str]:
        return {CALLER_HEADER: self.cluster.infras["order"].internal_identity.sign(caller)}

    def close(self) -> None:
        self.run(self.cluster.stop())
        self.loop.close()


_session: Session | None = None


def session() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session


def close() -> None:
    """End the experiment's session (the runner calls this after the journal is written)."""
    global _session
    if _session is not None:
        _session.close()
        _session = None


# -- actions ---------------------------------------------------------------------------------


def inject_fault(
    dependency: str, kind: str, rate: float = 1.0, seconds: float = 0.0, status: int = 503
) -> str:
    """Arm a fault on calls to `dependency`: latency, error, timeout (hang), outage, reset."""
    faults = session().faults
    if kind == "latency":
        faults.inject_latency(dependency, seconds, rate=rate)
    elif kind == "error":
        faults.inject_error(dependency, status, rate=rate)
    elif kind == "timeout":
        faults.inject_timeout(dependency, rate=rate)
    elif kind == "outage":
        faults.inject_outage(dependency, rate=rate)
    elif kind == "reset":
        faults.inject_reset(dependency, rate=rate)
    else:
        raise ValueError(f"unknown fault kind {kind!r}; use latency, error, timeout, outage, reset")
    return f"{dependency}:{kind} armed"


def heal(dependency: str | None = None) -> str:
    """Disarm the faults (of one dependency, or all)."""
    session().faults.clear(dependency)
    return f"{dependency or 'every dependency'} healed"


def wait(seconds: float) -> float:
    """Let `seconds` of simulated time pass (sweepers, breaker cool-downs run meanwhile)."""
    s = session()
    s.run(s.clock.sleep(seconds))
    return s.clock.monotonic()


# -- probes ----------------------------------------------------------------------------------


def browse_success(requests: int = 40) -> float:
    """The share of catalog reads (product list, a product, categories) answered 2xx."""
    s = session()

    async def browse() -> float:
        ok = 0
        paths = [*BROWSE_PATHS, *(f"/api/v1/products/{p}" for p in s.products)]
        for n in range(requests):
            path = paths[n % len(paths)]
            service = "category" if path.startswith("/api/v1/categories") else "product"
            async with s.cluster.client(service) as client:
                ok += (await client.get(path)).status_code < 300
        return ok / requests

    return s.run(browse())


def category_browse(requests: int = 8) -> dict[str, Any]:
    """Product listings filtered by category (the product service asks the category service
    what is under it): how many answered, and whether every failure was quick and clear."""
    s = session()

    async def browse() -> dict[str, Any]:
        ok, clean, slowest = 0, 0, 0.0
        for _ in range(requests):
            started = s.clock.monotonic()
            async with s.cluster.client("product") as product:
                answer = await product.get(f"/api/v1/products?category_id={s.category}")
            seconds = s.clock.monotonic() - started
            slowest = max(slowest, seconds)
            ok += answer.status_code < 300
            clean += answer.status_code < 300 or _checkout_figures(answer, 0)["code"] is not None
        return {
            "share_ok": ok / requests,
            "all_clean": clean == requests,
            "max_seconds": round(slowest, 3),
        }

    return s.run(browse())


def checkout() -> dict[str, Any]:
    """One checkout: its status, error code, order status and simulated seconds to answer."""
    s = session()
    s.orders += 1
    body = {
        "items": [{"product_id": s.products[0], "quantity": 1}],
        "card_number": CARD,
        "idempotency_key": f"experiment-{s.orders}",
        "coupon_code": "EXPERIMENT",
    }

    async def place() -> dict[str, Any]:
        started = s.clock.monotonic()
        async with s.cluster.client("order") as order:
            answer = await order.post("/api/v1/orders", json=body, headers=s.as_(SHOPPER))
        return _checkout_figures(answer, s.clock.monotonic() - started)

    return s.run(place())


def checkout_confirms() -> bool:
    return checkout()["order_status"] == "CONFIRMED"


def checkout_fails_cleanly(margin_seconds: float = 2.0) -> dict[str, Any]:
    """A checkout while the fault is on: answered in time, and an error says what it is."""
    figures = checkout()
    deadline = session().cluster.infras["order"].settings.request_deadline_seconds
    limit = CHECKOUT_LIMIT_SECONDS + margin_seconds
    figures["within_deadline"] = figures["seconds"] <= limit
    figures["clean"] = figures["within_deadline"] and (
        figures["status"] < 300 or figures["code"] is not None
    )
    figures["peer_deadline_seconds"] = deadline
    return figures


def checkouts_fail_cleanly(count: int = 6, margin_seconds: float = 2.0) -> dict[str, Any]:
    """`count` checkouts in a row while the fault is on (enough to trip a breaker)."""
    runs = [checkout_fails_cleanly(margin_seconds) for _ in range(count)]
    return {
        "all_clean": all(r["clean"] for r in runs),
        "max_seconds": max(r["seconds"] for r in runs),
        "answers": sorted({f"{r['status']} {r['order_status'] or r['code']}" for r in runs}),
    }


def breaker_state(consumer: str, dependency: str) -> str:
    """closed, open or half_open: the breaker `consumer` keeps for calls to `dependency`."""
    return session().cluster.infras[consumer].clients[dependency].breaker.state.value


def injected(dependency: str | None = None) -> int:
    """How many faults the seam injected (for `dependency`, or all)."""
    return session().faults.injected(dependency)


def seconds_to_steady(limit: float = 60.0, step: float = 1.0) -> float:
    """Simulated seconds until a checkout confirms and browsing (category listings too) is
    whole again; -1 if never."""
    s = session()
    started = s.clock.monotonic()
    while s.clock.monotonic() - started <= limit:
        whole = browse_success(6) == 1.0 and category_browse(1)["share_ok"] == 1.0
        if whole and checkout_confirms():
            return round(s.clock.monotonic() - started, 3)
        wait(step)
    return -1.0


def _checkout_figures(answer: httpx.Response, seconds: float) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    return {
        "status": answer.status_code,
        "code": error.get("code") if isinstance(error, dict) else None,
        "order_status": body.get("status") if isinstance(body, dict) else None,
        "failure_reason": body.get("failure_reason") if isinstance(body, dict) else None,
        "seconds": round(seconds, 3),
    }
