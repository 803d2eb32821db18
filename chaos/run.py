"""Run one schedule: a fresh in-process cluster, its workload, its faults, then the invariants.

Everything the run does is on one event loop under simulated time (`SimClock`), with ids from
a seeded source and faults drawn from seeded RNGs; tasks are created in timeline order and the
loop's FIFO ready queue does the rest, so one schedule always writes the same history.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chaos.history import History
from chaos.invariants import FinalState, Observed, Violation, check
from chaos.redisfaults import RedisFaults
from chaos.schedule import HORIZON_SECONDS, FaultEvent, Operation, Schedule
from chaos.simclock import SimClock
from estore.cluster import Cluster, cluster_secrets
from estore.kit.bootstrap import Wiring
from estore.kit.breaker import BreakerState, CircuitBreaker
from estore.kit.clients.policy import BreakerPolicy
from estore.kit.faults import FaultKind, Faults
from estore.kit.identity import Caller, KeyRing, Role
from estore.kit.identity.tokens import TokenIssuer
from estore.kit.ids import SeededIds, using
from estore.kit.observability import configure_logging
from estore.services.auth.service import AuthService
from estore.services.order.service import OrderService

SERVICES = ("product", "category", "coupon", "payment", "order", "auth", "ticket", "gateway")
# Quiet time after the faults: longer than a saga lease and a few sweeps, so recovery and the
# reservation sweeper have finished whatever the faults left behind.
QUIET_SECONDS = 150.0
QUIET_STEP_SECONDS = 2.0
LAST_SWEEP_SECONDS = 5.0
CURRENCY = "EUR"
ADMIN = Caller(user_id="admin-chaos", email="chaos@example.com", roles=frozenset({Role.ADMIN}))
# The HTTP kinds of a schedule, as the kit's fault seam names them.
SEAM_KIND: dict[str, FaultKind] = {
    "latency": "latency",
    "jitter": "latency",
    "error": "error",
    "timeout": "timeout",
    "outage": "outage",
    "reset": "reset",
    "late": "late",
}
WARM_PATHS = ("/api/v1/chaos-warm-up", "/chaos-warm-up", "/graphql/chaos-warm-up")
EVENT_STREAMS = ("order:created", "order:confirmed", "order:cancelled")
# The signed-in home page: the account (auth subgraph), its orders and the category menu.
ACCOUNT_QUERY = "{ me { id } orders { id } categories { id } }"


class SagaCrash(Exception):
    """The order service died at a saga checkpoint (planted by the harness)."""


@dataclass
class RunResult:
    schedule: Schedule
    history: History
    violations: list[Violation]
    injections: dict[str, dict[str, int]]
    state: FinalState
    observed: Observed

    @property
    def failed(self) -> bool:
        return bool(self.violations)

    @property
    def digest(self) -> str:
        return self.history.digest()


@functools.cache
def _forged_keys() -> KeyRing:
    # No history line holds a token, so one forger's key per process keeps runs replayable.
    return KeyRing.generate()


@functools.cache
def _secrets() -> tuple[tuple[str, str], ...]:
    # One signing key per process: generating an RSA key costs more than a whole schedule.
    # No answer in the history depends on it.
    return tuple(sorted(cluster_secrets().items()))


def overrides() -> dict[str, Any]:
    return {
        **dict(_secrets()),
        "instance_id": "order-1",
        "internal_signing_key": "chaos-internal-signing-key-for-seeded-runs",
    }


Mutant = Callable[[Cluster], None]


class Stage:
    """A started cluster on simulated time zero, waiting for the one schedule it will play.

    Building and starting a cluster does not depend on the schedule (its ids come from a
    source of its own), so a campaign builds one stage and forks it for every schedule: each
    child plays from the very same state, and `run` (a replay) plays on a stage of its own
    through the same steps, so both write the same history.
    """

    def __init__(self, clock: SimClock | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = clock or SimClock()
        self.faults = Faults()
        with using(SeededIds("stage")):
            self.cluster = Cluster(
                Wiring(clock=self.clock, faults=self.faults),
                services=SERVICES,
                overrides=overrides(),
            )
            self.loop.run_until_complete(self.cluster.start())
            self.loop.run_until_complete(self._warm())

    async def _warm(self) -> None:
        """Ask every app for a path none of them serves: FastAPI builds its route tables on
        the first request, and a forked child should find them built."""
        for name in self.cluster.apps:
            async with self.cluster.client(name) as client:
                for path in WARM_PATHS:
                    await client.get(path)

    def play(self, schedule: Schedule, mutant: Mutant | None = None) -> RunResult:
        """Play `schedule` on this stage; a stage plays once."""
        self.faults.reseed(schedule.seed)
        with using(SeededIds(schedule.seed)):
            # run_until_complete makes a task in this context: the cluster's work for the
            # schedule mints its ids from the schedule's source.
            return self.loop.run_until_complete(Driver(schedule, self, mutant).run())

    def close(self) -> None:
        self.loop.close()


def run(schedule: Schedule, mutant: Mutant | None = None) -> RunResult:
    """Run `schedule` on a stage of its own; the result holds the history and violations."""
    stage = Stage()
    try:
        return stage.play(schedule, mutant)
    finally:
        stage.close()


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class Driver:
    schedule: Schedule
    stage: Stage
    mutant: Mutant | None = None

    def __post_init__(self) -> None:
        self.clock = self.stage.clock
        self.faults = self.stage.faults
        self.cluster = self.stage.cluster
        self.history = History(self.clock.monotonic)
        self.products: list[str] = []
        self.answers: dict[int, list[Answer]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.armed: dict[tuple[str, str], list[FaultEvent]] = {}
        self.crash_point: str | None = None
        self.stuck: list[tuple[float, str, str, int]] = []
        # Faults outside the kit's seam, counted when they take effect.
        self.fired: Counter[tuple[str, str]] = Counter()
        # Initial stock plus every restock answered 200, per product.
        self.supplied: dict[str, int] = {}
        self.redis = RedisFaults(
            self.cluster.wiring.stores.redis(None),
            self.faults,
            self.clock,
            EVENT_STREAMS,
            self.schedule.seed,
        )

    async def run(self) -> RunResult:
        try:
            await self._seed()
            if self.mutant is not None:
                self.mutant(self.cluster)
            self._order_runner().ctx.checkpoint = self._checkpoint
            self._watch_breakers()
            await self._play()
            await self._quiesce()
            state = await FinalState.read(self.cluster, self.products)
            violations = check(self.schedule, self.history, self._observed(), state)
            state.record(self.history)
        finally:
            await self.cluster.stop()
        self._record_injections()
        return RunResult(
            self.schedule,
            self.history,
            violations,
            self._injections(),
            state,
            self._observed(),
        )

    # -- set-up -------------------------------------------------------------------------

    async def _seed(self) -> None:
        catalog = self.schedule.catalog
        async with self.cluster.client("product") as product:
            for n, (stock, price) in enumerate(zip(catalog.stock, catalog.prices, strict=True)):
                body = {
                    "sku": f"CHAOS-{n}",
                    "name": f"Chaos product {n}",
                    "price": {"amount": price, "currency": CURRENCY},
                    "stock": stock,
                }
                answer = await product.post(
                    "/api/v1/products", json=body, headers=self.cluster.caller_headers(ADMIN)
                )
                _expect(answer, 201)
                self.products.append(answer.json()["id"])
                self.supplied[self.products[-1]] = stock
        async with self.cluster.client("coupon") as coupon:
            for code, percent, limit, per_customer in catalog.coupons:
                body = {
                    "code": code,
                    "kind": "PERCENT",
                    "percent": percent,
                    "max_redemptions": limit,
                    "max_per_customer": per_customer,
                }
                answer = await coupon.post(
                    "/api/v1/coupons", json=body, headers=self.cluster.caller_headers(ADMIN)
                )
                _expect(answer, 201)
        self.history.add("seeded", products=self.products, stock=list(catalog.stock))

    def _order_runner(self) -> Any:
        return self.cluster.service("order", OrderService).runner

    def _watch_breakers(self) -> None:
        """Watch every client's breaker: its transitions, and failure streaks it let pass."""
        for consumer, infra in sorted(self.cluster.infras.items()):
            for link in sorted(infra.clients):
                _BreakerWatch(self, consumer, infra.clients[link].breaker)

    def _injections(self) -> dict[str, dict[str, int]]:
        merged = self.faults.summary()
        fired = self.fired + Counter({("streams", k): n for k, n in self.redis.fired.items()})
        for (link, kind), n in sorted(fired.items()):
            merged.setdefault(link, {})[kind] = n
        return merged

    def _observed(self) -> Observed:
        return Observed(
            answers=self.answers,
            supplied=self.supplied,
            stuck=tuple(self.stuck),
        )

    # -- the timeline ---------------------------------------------------------------------

    async def _play(self) -> None:
        timeline: list[tuple[float, int, int, Callable[[], Any]]] = []
        for n, op in enumerate(self.schedule.operations):
            timeline.append((op.at, 2, n, functools.partial(self._start, n, op)))
        for n, fault in enumerate(self.schedule.faults):
            timeline.append((fault.at, 1, n, functools.partial(self._arm, fault)))
            end = fault.at + fault.duration
            timeline.append((end, 0, n, functools.partial(self._disarm, fault)))
        for at, _, _, action in sorted(timeline, key=lambda item: item[:3]):
            await self.clock.run_until(at)
            await action()
        await self.clock.run_until(HORIZON_SECONDS)

    async def _start(self, n: int, op: Operation) -> None:
        self.tasks.append(asyncio.create_task(self._perform(n, op), name=f"op-{n}"))

    async def _quiesce(self) -> None:
        """Faults off, then time passes until the system is quiet (or the quiet time is up).

        Quiet: every client call answered, every late request delivered, every saga final,
        every outbox entry relayed and every consumer group caught up. One more sweep interval
        follows, so the sweepers get a last look. Checks happen at fixed simulated times, so
        this stays deterministic.
        """
        self.faults.clear()
        self.redis.clear()
        self.crash_point = None
        await self._dial({"timeout_rate": 0.0, "decline_rate": 0.0})
        self.history.add("quiesce")
        moment, limit = HORIZON_SECONDS, HORIZON_SECONDS + QUIET_SECONDS
        while moment < limit:
            moment += QUIET_STEP_SECONDS
            await self.clock.run_until(moment)
            if await self._quiet():
                break
        await self.clock.run_until(moment + LAST_SWEEP_SECONDS)
        self.history.add("quiet", after=round(moment - HORIZON_SECONDS, 3))
        for n, task in enumerate(self.tasks):
            if not task.done():
                self.history.add("unanswered", task=n)
                task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _quiet(self) -> bool:
        if self.faults.in_flight or not all(task.done() for task in self.tasks):
            return False
        order_db = self.cluster.infras["order"].db
        busy = {"status": {"$in": ["RUNNING", "COMPENSATING"]}}
        if await order_db["sagas"].count_documents(busy):
            return False
        for infra in self.cluster.infras.values():
            if await infra.db["outbox"].count_documents({"relayed_at": None}):
                return False
        return await self._streams_caught_up()

    async def _streams_caught_up(self) -> bool:
        with self.redis.bypass():
            return await self._caught_up(self.cluster.wiring.stores.redis(None))

    @staticmethod
    async def _caught_up(redis: Any) -> bool:
        for stream in EVENT_STREAMS:
            if not await redis.exists(stream):
                continue
            last = (await redis.xinfo_stream(stream))["last-generated-id"]
            for group in await redis.xinfo_groups(stream):
                if group["pending"] or group["last-delivered-id"] != last:
                    return False
        return True

    # -- faults ---------------------------------------------------------------------------

    async def _arm(self, fault: FaultEvent) -> None:
        self.history.add("arm", fault=fault.label(), value=fault.value, rate=fault.rate)
        if fault.link in ("processor", "clock") or fault.label() == "streams:redeliver":
            self.fired[(fault.link, fault.kind)] += 1
        if fault.link == "processor":
            dial = "timeout_rate" if fault.kind == "hang_after_charge" else "decline_rate"
            await self._dial({dial: fault.value, "seed": self.schedule.seed})
        elif fault.label() == "order:crash":
            self.crash_point = str(fault.value)
        elif fault.link == "clock":
            self.clock.jump(float(fault.value or 0))
        elif fault.label() == "streams:redeliver":
            await self._redeliver()
        elif fault.link == "streams":
            self.redis.arm(fault.kind, fault.rate)
        else:
            self.armed.setdefault((fault.link, SEAM_KIND[fault.kind]), []).append(fault)
            self._seam_arm(fault)

    async def _disarm(self, fault: FaultEvent) -> None:
        if fault.link == "clock" or fault.label() == "streams:redeliver":
            return
        self.history.add("disarm", fault=fault.label())
        if fault.link == "streams":
            self.redis.disarm(fault.kind)
        elif fault.link == "processor":
            dial = "timeout_rate" if fault.kind == "hang_after_charge" else "decline_rate"
            await self._dial({dial: 0.0})
        elif fault.label() == "order:crash":
            if self.crash_point == fault.value:
                self.crash_point = None
            # The crashed service is back: it recovers what it left behind.
            self.history.add("restart", service="order")
            self.tasks.append(asyncio.create_task(self._recover()))
        else:
            key = (fault.link, SEAM_KIND[fault.kind])
            still = [f for f in self.armed.get(key, []) if f is not fault]
            self.armed[key] = still
            if still:
                self._seam_arm(still[-1])
            else:
                self.faults.disarm(*key)

    def _seam_arm(self, fault: FaultEvent) -> None:
        link, rate = fault.link, fault.rate
        if fault.kind == "latency":
            self.faults.inject_latency(link, float(fault.value or 0), rate=rate)
        elif fault.kind == "jitter":
            self.faults.inject_latency(link, 0.0, up_to=float(fault.value or 0), rate=rate)
        elif fault.kind == "error":
            self.faults.inject_error(link, int(fault.value or 503), rate=rate)
        elif fault.kind == "timeout":
            self.faults.inject_timeout(link, rate=rate)
        elif fault.kind == "outage":
            self.faults.inject_outage(link, rate=rate)
        elif fault.kind == "late":
            self.faults.inject_late(link, float(fault.value or 0), rate=rate)
        else:
            self.faults.inject_reset(link, rate=rate)

    async def _dial(self, change: dict[str, Any]) -> None:
        async with self.cluster.client("payment") as payment:
            answer = await payment.post(
                "/api/v1/admin/behaviour", json=change, headers=self.cluster.caller_headers(ADMIN)
            )
        _expect(answer, 200)

    async def _redeliver(self) -> None:
        """Rewind every consumer group to the start of its stream: all events come again."""
        redis = self.cluster.wiring.stores.redis(None)
        with self.redis.bypass():
            for stream in EVENT_STREAMS:
                if not await redis.exists(stream):
                    continue
                for group in sorted(g["name"] for g in await redis.xinfo_groups(stream)):
                    await redis.xgroup_setid(stream, group, "0")

    async def _checkpoint(self, point: str) -> None:
        if point == self.crash_point:
            self.crash_point = None
            self.fired[("order", "crash")] += 1
            self.history.add("crash", service="order", point=point)
            raise SagaCrash(f"order service crashed at {point}")

    async def _recover(self) -> None:
        await self._order_runner().recover()

    # -- the workload ---------------------------------------------------------------------

    async def _perform(self, n: int, op: Operation) -> None:
        if op.kind == "checkout":
            await self._checkout(n, op)
        elif op.kind == "cancel":
            await self._cancel(n, op)
        elif op.kind == "ticket":
            await self._ticket(n, op)
        elif op.kind == "account":
            await self._account(n, op)
        else:
            await self._restock(n, op)

    async def _checkout(self, n: int, op: Operation) -> None:
        who = _customer(op.customer)
        body: dict[str, Any] = {
            "items": [{"product_id": self.products[p], "quantity": q} for p, q in op.items],
            "card_number": op.card,
            "idempotency_key": f"checkout-{n}",
        }
        if op.coupon:
            body["coupon_code"] = op.coupon
        self.history.add("call", op=n, kind="checkout", copies=op.copies, body=body)

        async def once(copy: int) -> None:
            async with self.cluster.client("order") as order:
                answer = await _call(
                    order.post(
                        "/api/v1/orders", json=body, headers=self.cluster.caller_headers(who)
                    )
                )
            self.answers.setdefault(n, []).append(answer)
            self._answered(n, copy, answer)

        await asyncio.gather(*(once(copy) for copy in range(op.copies)))

    async def _cancel(self, n: int, op: Operation) -> None:
        assert op.ref is not None
        placed = self.answers.get(op.ref, [])
        first = next((a for a in placed if a.body.get("status") == "CONFIRMED"), None)
        if first is None:
            self.history.add("skip", op=n, kind="cancel", ref=op.ref)
            return
        who = _customer(self.schedule.operations[op.ref].customer)
        order_id = first.body["id"]
        self.history.add("call", op=n, kind="cancel", order=order_id)
        async with self.cluster.client("order") as order:
            answer = await _call(
                order.post(
                    f"/api/v1/orders/{order_id}/cancel", headers=self.cluster.caller_headers(who)
                )
            )
        self.answers.setdefault(n, []).append(answer)
        self._answered(n, 0, answer)

    async def _restock(self, n: int, op: Operation) -> None:
        product_id = self.products[op.product]
        body = {"delta": op.quantity, "reason": "chaos restock"}
        self.history.add("call", op=n, kind="restock", product=product_id, delta=op.quantity)
        async with self.cluster.client("product") as product:
            answer = await _call(
                product.patch(
                    f"/api/v1/products/{product_id}/stock",
                    json=body,
                    headers=self.cluster.caller_headers(ADMIN),
                )
            )
        if answer.status == 200:
            self.supplied[product_id] += op.quantity
        self.answers.setdefault(n, []).append(answer)
        self._answered(n, 0, answer)

    async def _ticket(self, n: int, op: Operation) -> None:
        assert op.ref is not None
        placed = [a.body["id"] for a in self.answers.get(op.ref, []) if a.body.get("id")]
        if not placed:
            self.history.add("skip", op=n, kind="ticket", ref=op.ref)
            return
        body = {"subject": "Where is my parcel?", "body": "Hello", "order_id": placed[0]}
        self.history.add("call", op=n, kind="ticket", order=placed[0], customer=op.customer)
        async with self.cluster.client("ticket") as ticket:
            answer = await _call(
                ticket.post(
                    "/api/v1/tickets",
                    json=body,
                    headers=self.cluster.caller_headers(_customer(op.customer)),
                )
            )
        self.answers.setdefault(n, []).append(answer)
        self._answered(n, 0, answer)

    async def _account(self, n: int, op: Operation) -> None:
        """A signed-in read through the gateway: it verifies the token by auth's JWKS."""
        issuer = self._forger() if op.forged else self.cluster.service("auth", AuthService).issuer
        token = issuer.issue_access_token(_customer(op.customer))
        self.history.add("call", op=n, kind="account", customer=op.customer, forged=op.forged)
        async with self.cluster.client("gateway") as gateway:
            answer = await _call(
                gateway.post(
                    "/graphql",
                    json={"query": ACCOUNT_QUERY},
                    headers={"authorization": f"Bearer {token}"},
                )
            )
        self.answers.setdefault(n, []).append(answer)
        self._answered(n, 0, answer)

    def _forger(self) -> TokenIssuer:
        """An issuer like auth's, with a key auth never published."""
        settings = self.cluster.infras["auth"].settings
        return TokenIssuer(
            _forged_keys(),
            settings.jwt_issuer,
            settings.jwt_audience,
            self.clock,
            settings.jwt_access_ttl_seconds,
        )

    def _answered(self, n: int, copy: int, answer: Answer) -> None:
        body = answer.body
        self.history.add(
            "answer",
            op=n,
            copy=copy,
            status=answer.status,
            order=body.get("id"),
            order_status=body.get("status"),
            reason=body.get("failure_reason") or _error_code(body),
        )

    def _record_injections(self) -> None:
        for injection in self.faults.history:
            self.history.add(
                "injected",
                link=injection.dependency,
                kind=injection.kind,
                at=round(injection.at, 6),
                detail=injection.detail,
            )


class _BreakerWatch:
    """Records a breaker's transitions, and each time it stays closed through more
    consecutive failures than the breaker policy allows (a breaker that never opens).

    The margin covers failures of calls admitted before the breaker last closed, which the
    breaker rightly ignores.
    """

    MARGIN = 2

    def __init__(self, driver: Driver, consumer: str, breaker: CircuitBreaker) -> None:
        self._driver = driver
        self._consumer = consumer
        self._breaker = breaker
        self._limit = BreakerPolicy().failure_threshold + self.MARGIN
        self._streak = 0
        self._on_failure = breaker.on_failure
        self._on_success = breaker.on_success
        breaker.on_state_change = self._changed
        breaker.on_failure = self._failed  # type: ignore[method-assign]
        breaker.on_success = self._succeeded  # type: ignore[method-assign]

    def _changed(self, breaker: CircuitBreaker, old: BreakerState, new: BreakerState) -> None:
        self._streak = 0
        self._driver.history.add(
            "breaker", consumer=self._consumer, link=breaker.name, old=old.value, new=new.value
        )

    def _succeeded(self, ticket: int) -> None:
        self._streak = 0
        self._on_success(ticket)

    def _failed(self, ticket: int) -> None:
        closed = self._breaker.state is BreakerState.CLOSED
        self._on_failure(ticket)
        if not closed or self._breaker.state is not BreakerState.CLOSED:
            return
        self._streak += 1
        if self._streak == self._limit:
            driver = self._driver
            at = driver.clock.monotonic()
            line = driver.history.add(
                "breaker_stuck",
                consumer=self._consumer,
                link=self._breaker.name,
                failures=self._streak,
            )
            driver.stuck.append((at, self._consumer, self._breaker.name, line))


def _customer(n: int) -> Caller:
    return Caller(
        user_id=f"customer-{n}", email=f"c{n}@example.com", roles=frozenset({Role.CUSTOMER})
    )


async def _call(request: Any) -> Answer:
    try:
        response: httpx.Response = await request
    except httpx.HTTPError as exc:
        return Answer(0, {"error": {"code": type(exc).__name__}})
    try:
        body = response.json()
    except ValueError:
        body = {"error": {"code": "not_json"}}
    return Answer(response.status_code, body if isinstance(body, dict) else {})


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error.get("code")) if isinstance(error, dict) else None


def _expect(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"set-up call {response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:200]}"
        )


def quiet_logs() -> None:
    """Keep the services' logs (crashes are planted on purpose) off the campaign's terminal."""
    configure_logging("CRITICAL")
    logging.getLogger("estore").setLevel(logging.CRITICAL + 1)
