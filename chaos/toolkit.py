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
import os
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from chaos.redisfaults import RedisFaults
from chaos.run import ADMIN, CURRENCY, EVENT_STREAMS, overrides
from chaos.simclock import SimClock
from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.clock import Clock, SystemClock
from estore.kit.faults import Faults
from estore.kit.identity import Caller, KeyRing, Role
from estore.kit.identity.tokens import TokenIssuer
from estore.kit.ids import SeededIds, using
from estore.kit.testing import free_ports
from estore.services.auth.service import AuthService

T = TypeVar("T")
SERVICES = ("product", "category", "coupon", "payment", "order", "auth", "ticket", "gateway")
CARD = "4242424242424242"
# The longest a checkout may take to answer while a dependency misbehaves: the order
# service's deadline on its peers, its charge attempts, and compensation, with margin.
CHECKOUT_LIMIT_SECONDS = 30.0
BROWSE_PATHS = ("/api/v1/products?limit=10", "/api/v1/categories")
SHOPPER = Caller(user_id="shopper-1", email="shopper@example.com", roles=frozenset({Role.CUSTOMER}))
# Through the gateway: a signed-in page that needs no auth call once the token is verified,
# and the account reads that go to auth and order.
SIGNED_IN_BROWSE = "{ categories { id } }"
ACCOUNT_READ = "{ me { id } orders { id } }"


@dataclass
class Session:
    """One experiment's cluster: built lazily, stepped only while an activity runs.

    In-process (the default) the services answer through in-process transports on simulated
    time. Served (`served=True`; `ESTORE_CHAOS_SERVED=1` for the `chaos run` CLI) they are
    served on loopback ports as `estore up` serves them (`Cluster.serve`), call each other
    over real sockets on the system clock, and the faults are armed on the same seam.
    """

    seed: int = 1
    served: bool = False
    clock: Clock = field(default_factory=SimClock)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.faults = Faults(seed=self.seed)
        self._ids = SeededIds(f"experiment:{self.seed}")
        if self.served:
            self.clock = SystemClock()
        self.cluster = self._in_context(
            lambda: Cluster(
                Wiring(clock=self.clock, faults=self.faults),
                services=SERVICES,
                overrides=overrides(),
                served=self.served,
                ports=dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
                if self.served
                else None,
            )
        )
        self._serving: asyncio.Task[None] | None = None
        # Redis commands meet the seam's `redis` faults (outage, latency).
        self.redis = RedisFaults(
            self.cluster.wiring.stores.redis(None),
            self.faults,
            self.clock,
            EVENT_STREAMS,
            self.seed,
        )
        self.products: list[str] = []
        self.category = ""
        self.orders = 0
        self.last_order: str | None = None
        self.run(self._start())

    def _in_context(self, build: Any) -> Any:
        with using(self._ids):
            return build()

    def run(self, call: Awaitable[T], limit: float = CHECKOUT_LIMIT_SECONDS * 4) -> T:
        """Run `call` to its end, moving simulated time whenever every task waits on it (served:
        in real time, the servers answering meanwhile)."""
        if self.served:
            with using(self._ids):
                return self.loop.run_until_complete(asyncio.wait_for(call, limit))
        clock = self.clock
        assert isinstance(clock, SimClock)

        async def driven() -> T:
            task = asyncio.ensure_future(call)
            start = clock.monotonic()
            while not task.done():
                if clock.monotonic() - start > limit:
                    task.cancel()
                    raise TimeoutError(f"no answer within {limit:g} simulated seconds")
                await clock.run_until(clock.monotonic() + 0.05)
            return task.result()

        with using(self._ids):
            return self.loop.run_until_complete(driven())

    async def _start(self) -> None:
        if self.served:
            ready = asyncio.Event()
            self._serving = asyncio.ensure_future(self.cluster.serve(ready=ready))
            await _ready(ready, self._serving)
        else:
            await self.cluster.start()
        # Categories are made through the category subgraph's GraphQL mutation only.
        create = {"query": 'mutation { createCategory(input: {name: "Experiments"}) { id } }'}
        async with self.client("category") as category:
            answer = await category.post(
                "/graphql", json=create, headers=self.cluster.caller_headers(ADMIN)
            )
            answer.raise_for_status()
            self.category = answer.json()["data"]["createCategory"]["id"]
        async with self.client("product") as product:
            for n in range(3):
                body = {
                    "sku": f"EXP-{n}",
                    "name": f"Experiment product {n}",
                    "price": {"amount": 1000 + n, "currency": CURRENCY},
                    "stock": 10_000,
                }
                answer = await product.post(
                    "/api/v1/products", json=body, headers=self.cluster.caller_headers(ADMIN)
                )
                answer.raise_for_status()
                self.products.append(answer.json()["id"])
        async with self.client("coupon") as coupon:
            body = {"code": "EXPERIMENT", "kind": "PERCENT", "percent": 10}
            answer = await coupon.post(
                "/api/v1/coupons", json=body, headers=self.cluster.caller_headers(ADMIN)
            )
            answer.raise_for_status()

    def client(self, name: str) -> httpx.AsyncClient:
        # Served, a slow answer is measured against the checkout limit, not cut off at
        # httpx's default five seconds.
        return self.cluster.client(name, timeout=CHECKOUT_LIMIT_SECONDS + 10)

    def bearer(self, forged: bool = False) -> dict[str, str]:
        """A token for the shopper, signed by auth (or by a key auth never published)."""
        issuer = self.cluster.service("auth", AuthService).issuer
        if forged:
            settings = self.cluster.infras["auth"].settings
            issuer = TokenIssuer(
                KeyRing.generate(),
                settings.jwt_issuer,
                settings.jwt_audience,
                self.clock,
                settings.jwt_access_ttl_seconds,
            )
        return {"authorization": f"Bearer {issuer.issue_access_token(SHOPPER)}"}

    def close(self) -> None:
        if self._serving is not None:
            self._serving.cancel()
            self.loop.run_until_complete(asyncio.gather(self._serving, return_exceptions=True))
        else:
            self.run(self.cluster.stop())
        self.loop.close()


_session: Session | None = None
SERVED_ENV = "ESTORE_CHAOS_SERVED"


def session() -> Session:
    global _session
    if _session is None:
        _session = Session(served=os.environ.get(SERVED_ENV) == "1")
    return _session


async def _ready(ready: asyncio.Event, serving: asyncio.Task[None]) -> None:
    waiter = asyncio.ensure_future(ready.wait())
    await asyncio.wait({waiter, serving}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.is_set():
        waiter.cancel()
        serving.result()
        raise RuntimeError("the served cluster stopped before it was ready")


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
    s = session()
    s.faults.clear(dependency)
    if dependency is None:
        s.redis.clear()
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
            async with s.client(service) as client:
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
            async with s.client("product") as product:
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
        async with s.client("order") as order:
            answer = await order.post(
                "/api/v1/orders", json=body, headers=s.cluster.caller_headers(SHOPPER)
            )
        figures = _checkout_figures(answer, s.clock.monotonic() - started)
        if figures["order_status"] == "CONFIRMED":
            s.last_order = answer.json()["id"]
        return figures

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
    return _all_clean([checkout() for _ in range(count)], margin_seconds)


def _all_clean(runs: list[dict[str, Any]], margin_seconds: float) -> dict[str, Any]:
    """Whether every answer came within the checkout limit plus `margin_seconds`, as a success
    or an error with a code (no hang, no bare 5xx)."""
    limit = CHECKOUT_LIMIT_SECONDS + margin_seconds
    return {
        "all_clean": all(
            r["seconds"] <= limit and (r["status"] < 300 or r["code"] is not None) for r in runs
        ),
        "max_seconds": max(r["seconds"] for r in runs),
        "answers": sorted({f"{r['status']} {r['order_status'] or r['code']}" for r in runs}),
    }


def ticket_opens() -> bool:
    """A support ticket about the shopper's last confirmed order is opened."""
    return open_ticket()["status"] == 201


def open_ticket() -> dict[str, Any]:
    """Open a ticket on the shopper's last confirmed order (the ticket service asks the order
    service whose it is): status, error code and simulated seconds to answer."""
    s = session()
    if s.last_order is None:
        checkout()
    body = {"subject": "Experiment", "body": "Where is it?", "order_id": s.last_order}

    async def post() -> dict[str, Any]:
        started = s.clock.monotonic()
        async with s.client("ticket") as ticket:
            answer = await ticket.post(
                "/api/v1/tickets", json=body, headers=s.cluster.caller_headers(SHOPPER)
            )
        return _checkout_figures(answer, s.clock.monotonic() - started)

    return s.run(post())


def tickets_fail_cleanly(count: int = 6, margin_seconds: float = 2.0) -> dict[str, Any]:
    """`count` tickets opened while the fault is on: each answered in time, with a code."""
    return _all_clean([open_ticket() for _ in range(count)], margin_seconds)


def gateway_read(query: str, forged: bool = False) -> dict[str, Any]:
    """One GraphQL read through the gateway with the shopper's bearer token."""
    s = session()

    async def read() -> dict[str, Any]:
        started = s.clock.monotonic()
        async with s.client("gateway") as gateway:
            answer = await gateway.post("/graphql", json={"query": query}, headers=s.bearer(forged))
        figures = _checkout_figures(answer, s.clock.monotonic() - started)
        body = _json(answer)
        figures["has_data"] = bool(body.get("data")) and not body.get("errors")
        return figures

    return s.run(read())


def signed_in_browse(requests: int = 20) -> float:
    """The share of signed-in catalog pages through the gateway answered with data (the
    token verified by the JWKS the gateway holds)."""
    reads = [gateway_read(SIGNED_IN_BROWSE) for _ in range(requests)]
    return sum(r["status"] == 200 and r["has_data"] for r in reads) / requests


def forged_token_refused() -> bool:
    """A token auth never signed is refused (401), whatever state auth is in."""
    return gateway_read(SIGNED_IN_BROWSE, forged=True)["status"] == 401


def account_reads_fail_cleanly(count: int = 6, margin_seconds: float = 2.0) -> dict[str, Any]:
    """`count` account reads (auth's `me`, order's `orders`) through the gateway while the fault
    is on: each answered in time, as data, GraphQL errors or an error with a code."""
    return _all_clean([gateway_read(ACCOUNT_READ) for _ in range(count)], margin_seconds)


def events_waiting() -> int:
    """Outbox entries not yet relayed to Redis, over every service: held, not lost."""
    s = session()

    async def count() -> int:
        return sum(
            [
                await infra.db["outbox"].count_documents({"relayed_at": None})
                for infra in s.cluster.infras.values()
            ]
        )

    return s.run(count())


def breaker_state(consumer: str, dependency: str) -> str:
    """closed, open or half_open: the breaker `consumer` keeps for calls to `dependency`."""
    return session().cluster.infras[consumer].clients[dependency].breaker.state.value


def injected(dependency: str | None = None) -> int:
    """How many faults the seam injected (for `dependency`, or all)."""
    return session().faults.injected(dependency)


def seconds_to_steady(
    limit: float = 60.0, step: float = 1.0, tickets: bool = False, events: bool = False
) -> float:
    """Simulated seconds until a checkout confirms and browsing (category listings too) is
    whole again, and (if asked) a ticket opens and no event waits in an outbox; -1 if never."""
    s = session()
    started = s.clock.monotonic()
    while s.clock.monotonic() - started <= limit:
        whole = browse_success(6) == 1.0 and category_browse(1)["share_ok"] == 1.0
        if (
            whole
            and checkout_confirms()
            and (not tickets or ticket_opens())
            and (not events or events_waiting() == 0)
        ):
            return round(s.clock.monotonic() - started, 3)
        wait(step)
    return -1.0


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _checkout_figures(answer: httpx.Response, seconds: float) -> dict[str, Any]:
    body = _json(answer)
    error = body.get("error") if isinstance(body, dict) else None
    return {
        "status": answer.status_code,
        "code": error.get("code") if isinstance(error, dict) else None,
        "order_status": body.get("status") if isinstance(body, dict) else None,
        "failure_reason": body.get("failure_reason") if isinstance(body, dict) else None,
        "seconds": round(seconds, 3),
    }
