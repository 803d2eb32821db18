"""Fault schedules: a seeded workload plus faults that arm and disarm on simulated time.

A schedule is plain data (JSON round-trips it exactly), drawn from one seed by `generate`.
The workload and the faults are drawn from separate streams, so shrinking a schedule (taking
faults away) keeps the very same workload.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Where faults land: the HTTP dependencies the saga and the catalog call (the kit's fault seam
# names them by provider), the payment processor's own dials, the order service's saga crash
# points, the wall clock (TTLs), the shared Redis (down or slow) and the event streams on it
# (every group rewound, entries written twice, deliveries held back or handed over reversed).
# auth: the gateway's JWKS fetches (and its subgraph calls); order: the ticket service asking
# whether an order is the caller's.
HTTP_LINKS = ("product", "coupon", "payment", "category", "auth", "order")
HTTP_KINDS = ("latency", "jitter", "error", "timeout", "outage", "reset")
CRASH_POINTS = (
    "before:reserve",
    "after:reserve",
    "before:redeem",
    "after:redeem",
    "before:charge",
    "executed:charge",
    "after:charge",
    "before:record",
    "before:confirm",
    "executed:confirm",
    "before:complete",
    "undone:refund",
    "undone:release_coupon",
)
KINDS: dict[str, tuple[str, ...]] = {
    **{link: HTTP_KINDS for link in HTTP_LINKS},
    # A charge delivered after its sender gave it up (or died): recovery must not take money
    # for an order it has failed. Late delivery on the other links is not drawn yet.
    "payment": (*HTTP_KINDS, "late"),
    "processor": ("hang_after_charge", "declines"),
    # The order service is a provider (to the ticket service) and crashes mid-saga.
    "order": (*HTTP_KINDS, "crash"),
    "clock": ("jump",),
    "redis": ("outage", "latency"),
    "streams": ("redeliver", "duplicate", "delay", "reorder"),
}
# Every (link, kind) a schedule can hold, in a fixed order.
CELLS: tuple[tuple[str, str], ...] = tuple(
    (link, kind) for link in sorted(KINDS) for kind in KINDS[link]
)

OPERATIONS = ("checkout", "cancel", "restock", "ticket", "account")
GOOD_CARD = "4242424242424242"
DECLINING_CARDS = ("4000000000009995", "4000000000000002")
HORIZON_SECONDS = 30.0


class ScheduleError(ValueError):
    """A schedule file or value that is not a valid schedule; the message says what is wrong."""


@dataclass(frozen=True)
class FaultEvent:
    """One fault on `link`, armed at `at` for `duration` simulated seconds.

    `value` is the kind's one parameter: a latency in seconds, an error status, a hit rate, a
    crash point or a clock jump in seconds.
    """

    at: float
    duration: float
    link: str
    kind: str
    value: float | int | str | None = None
    rate: float = 1.0

    def label(self) -> str:
        return f"{self.link}:{self.kind}"


@dataclass(frozen=True)
class Operation:
    """One client action at `at`: a checkout (with `copies` concurrent retries of the same
    key), a cancellation of an earlier checkout (`ref`), a restock of a product, a support
    ticket about an earlier checkout's order (`ref`; by another customer, it must be refused)
    or a signed-in read through the gateway (`forged`: with a token auth never signed)."""

    at: float
    kind: str
    customer: int = 0
    items: tuple[tuple[int, int], ...] = ()
    coupon: str | None = None
    card: str = GOOD_CARD
    copies: int = 1
    ref: int | None = None
    product: int = 0
    quantity: int = 0
    forged: bool = False


@dataclass(frozen=True)
class Catalog:
    stock: tuple[int, ...]
    prices: tuple[int, ...]
    coupons: tuple[tuple[str, int, int, int], ...]  # code, percent, limit, per customer


@dataclass(frozen=True)
class Schedule:
    seed: int
    catalog: Catalog
    operations: tuple[Operation, ...]
    faults: tuple[FaultEvent, ...] = field(default=())

    def without(self, index: int) -> Schedule:
        return replace(self, faults=self.faults[:index] + self.faults[index + 1 :])

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        try:
            raw = json.loads(text)
            return _schedule(raw)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ScheduleError(f"not a valid schedule: {exc}") from exc


def generate(seed: int, *, max_faults: int = 4) -> Schedule:
    """The schedule of `seed`: the same seed always gives the same schedule."""
    work = random.Random(f"workload:{seed}")
    catalog = _catalog(work)
    operations = _operations(work, catalog)
    faults = random.Random(f"faults:{seed}")
    # The first fault's cell (link and kind) is the seed's, so consecutive campaign seeds
    # (`campaign.schedule_seeds`) cover every cell by construction rather than by luck.
    # It fires on every call for at least 5 s, so a cell that sees few calls still fires.
    first = _fault(faults, CELLS[seed % len(CELLS)])
    if first.duration:
        first = replace(first, rate=1.0, duration=max(first.duration, 5.0))
    drawn = [first]
    drawn += [_fault(faults) for _ in range(faults.randint(0, max_faults - 1))]
    return Schedule(
        seed=seed,
        catalog=catalog,
        operations=operations,
        faults=tuple(sorted(drawn, key=lambda f: (f.at, f.link, f.kind))),
    )


def _catalog(rng: random.Random) -> Catalog:
    products = rng.randint(3, 5)
    return Catalog(
        stock=tuple(rng.randint(2, 12) for _ in range(products)),
        prices=tuple(rng.randint(100, 5000) for _ in range(products)),
        coupons=tuple(
            (f"SAVE{n}", rng.choice([10, 25, 50, 100]), rng.randint(1, 4), rng.randint(1, 2))
            for n in range(2)
        ),
    )


def _operations(rng: random.Random, catalog: Catalog) -> tuple[Operation, ...]:
    operations: list[Operation] = []
    products = len(catalog.stock)
    for _ in range(rng.randint(8, 14)):
        picked = rng.sample(range(products), rng.randint(1, min(3, products)))
        operations.append(
            Operation(
                at=round(rng.uniform(0.0, HORIZON_SECONDS * 0.6), 3),
                kind="checkout",
                customer=rng.randrange(6),
                items=tuple((p, rng.randint(1, 3)) for p in picked),
                coupon=rng.choice([c[0] for c in catalog.coupons]) if rng.random() < 0.4 else None,
                card=GOOD_CARD if rng.random() < 0.8 else rng.choice(DECLINING_CARDS),
                copies=2 if rng.random() < 0.15 else 1,
            )
        )
    checkouts = len(operations)
    for ref in rng.sample(range(checkouts), rng.randint(0, 3)):
        at = operations[ref].at + round(rng.uniform(0.5, 8.0), 3)
        operations.append(Operation(at=at, kind="cancel", ref=ref))
    if rng.random() < 0.5:
        operations.append(
            Operation(
                at=round(rng.uniform(0.0, HORIZON_SECONDS * 0.6), 3),
                kind="restock",
                product=rng.randrange(products),
                quantity=rng.randint(1, 5),
            )
        )
    for ref in rng.sample(range(checkouts), rng.randint(1, 3)):
        owner = operations[ref].customer
        foreign = rng.random() < 0.3
        operations.append(
            Operation(
                at=operations[ref].at + round(rng.uniform(0.5, 8.0), 3),
                kind="ticket",
                customer=(owner + 1) % 6 if foreign else owner,
                ref=ref,
            )
        )
    for _ in range(rng.randint(2, 4)):
        operations.append(
            Operation(
                at=round(rng.uniform(0.0, HORIZON_SECONDS * 0.6), 3),
                kind="account",
                customer=rng.randrange(6),
                forged=rng.random() < 0.3,
            )
        )
    # References stay valid: cancellations keep their checkout's index, only time orders them.
    return tuple(operations)


def _fault(rng: random.Random, cell: tuple[str, str] | None = None) -> FaultEvent:
    if cell is None:
        link = rng.choice(sorted(KINDS))
        kind = rng.choice(KINDS[link])
    else:
        link, kind = cell
    at = round(rng.uniform(0.0, HORIZON_SECONDS * 0.6), 3)
    duration = round(rng.uniform(0.5, 10.0), 3)
    rate = rng.choice([1.0, 0.5, 0.2])
    value: float | int | str | None = None
    if kind == "latency":
        value = rng.choice([0.05, 0.3, 1.5] if link != "redis" else [0.01, 0.2, 1.0])
    elif kind == "jitter":
        value = rng.choice([0.5, 2.5])
    elif kind == "error":
        value = rng.choice([500, 502, 503])
    elif kind == "late":
        # Within the attempt, past the saga's lease (recovery has decided), past the sweeps.
        value = rng.choice([0.5, 40.0, 100.0])
    elif kind in ("hang_after_charge", "declines"):
        value = rng.choice([0.3, 1.0])
    elif kind == "crash":
        value = rng.choice(CRASH_POINTS)
        rate = 1.0
    elif kind == "jump":
        value = rng.choice([120.0, 900.0, 3600.0])
        duration = 0.0
    return FaultEvent(at=at, duration=duration, link=link, kind=kind, value=value, rate=rate)


def _schedule(raw: dict[str, Any]) -> Schedule:
    catalog = raw["catalog"]
    schedule = Schedule(
        seed=int(raw["seed"]),
        catalog=Catalog(
            stock=tuple(int(s) for s in catalog["stock"]),
            prices=tuple(int(p) for p in catalog["prices"]),
            coupons=tuple((str(c), int(p), int(n), int(m)) for c, p, n, m in catalog["coupons"]),
        ),
        operations=tuple(
            Operation(**{**op, "items": tuple(tuple(i) for i in op.get("items", ()))})
            for op in raw["operations"]
        ),
        faults=tuple(FaultEvent(**f) for f in raw.get("faults", ())),
    )
    _validate(schedule)
    return schedule


def _validate(schedule: Schedule) -> None:
    products = len(schedule.catalog.stock)
    for fault in schedule.faults:
        if fault.kind not in KINDS.get(fault.link, ()):
            raise ScheduleError(f"unknown fault {fault.label()}; known: {_known()}")
        if fault.at < 0 or fault.duration < 0 or not 0 < fault.rate <= 1:
            raise ScheduleError(f"fault {fault.label()} needs at, duration >= 0, rate in (0, 1]")
    for op in schedule.operations:
        if op.kind not in OPERATIONS:
            raise ScheduleError(f"unknown operation {op.kind!r}")
        if any(not 0 <= p < products for p, _ in op.items) or not 0 <= op.product < products:
            raise ScheduleError(f"operation at {op.at} names a product not in the catalog")
        if op.kind in ("cancel", "ticket") and not (
            op.ref is not None and 0 <= op.ref < len(schedule.operations)
        ):
            raise ScheduleError(f"{op.kind} at {op.at} refers to no checkout")


def _known() -> str:
    return ", ".join(f"{link}:{kind}" for link in sorted(KINDS) for kind in KINDS[link])
