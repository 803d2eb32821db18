"""Invariants over a run: the history of client calls and answers plus the final stores.

Each check names the invariant, the order it concerns and the history lines that show it, in
the manner of Jepsen's checkers: the stores say where the system ended, the history says what
clients were told on the way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chaos.history import History
from chaos.schedule import Schedule

if TYPE_CHECKING:
    from chaos.run import Answer
    from estore.cluster import Cluster

INVARIANTS = (
    "stock_conserved",
    "no_oversell",
    "stock_released_when_quiet",
    "charged_once_if_confirmed",
    "refunded_at_most_once",
    "coupon_limits",
    "coupon_used_only_by_confirmed_orders",
    "sagas_finished",
    "compensation_at_most_once",
    "one_order_per_idempotency_key",
    "told_matches_final",
    "events_applied_once",
    "every_call_answered",
    "breaker_opens",
    "forged_tokens_refused",
    "tickets_for_own_orders",
    "errors_are_clear",
)

FINAL = ("COMPLETED", "COMPENSATED")


@dataclass(frozen=True)
class Violation:
    invariant: str
    message: str
    order: str | None = None
    lines: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "invariant": self.invariant,
            "message": self.message,
            "order": self.order,
            "lines": list(self.lines),
        }

    def __str__(self) -> str:
        where = f" (order {self.order})" if self.order else ""
        lines = f"; history lines {list(self.lines)}" if self.lines else ""
        return f"{self.invariant}{where}: {self.message}{lines}"


@dataclass
class FinalState:
    """What the stores hold once the run is quiet, in a stable order."""

    products: dict[str, dict[str, Any]]
    orders: dict[str, dict[str, Any]]
    items: dict[str, list[tuple[str, int]]]
    sagas: list[dict[str, Any]]
    charges: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    coupons: dict[str, dict[str, Any]]
    redemptions: list[dict[str, Any]]
    unrelayed: int = 0
    tickets: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def read(cls, cluster: Cluster, products: list[str]) -> FinalState:
        db = {name: infra.db for name, infra in cluster.infras.items()}

        async def docs(service: str, collection: str) -> list[dict[str, Any]]:
            found = [doc async for doc in db[service][collection].find({})]
            return sorted(found, key=lambda d: str(d["_id"]))

        items: dict[str, list[tuple[str, int]]] = {}
        for item in await docs("order", "order_items"):
            items.setdefault(item["order_id"], []).append((item["product_id"], item["quantity"]))
        unrelayed = await db["order"]["outbox"].count_documents({"relayed_at": None})
        return cls(
            products={
                p["_id"]: p for p in await docs("product", "products") if p["_id"] in products
            },
            orders={o["_id"]: o for o in await docs("order", "orders")},
            items={k: sorted(v) for k, v in items.items()},
            sagas=await docs("order", "sagas"),
            charges=await docs("payment", "charges"),
            refunds=await docs("payment", "refunds"),
            coupons={c["code"]: c for c in await docs("coupon", "coupons")},
            redemptions=await docs("coupon", "redemptions"),
            unrelayed=unrelayed,
            tickets=await docs("ticket", "tickets") if "ticket" in db else [],
        )

    def record(self, history: History) -> None:
        """Append the end state to the history, so its hash covers where the run ended."""
        for pid, p in self.products.items():
            history.add(
                "final_product",
                product=pid,
                stock=p["stock"],
                reserved=p["reserved"],
                available=p["available"],
                sold=p.get("sold", 0),
            )
        for oid, o in self.orders.items():
            history.add("final_order", order=oid, status=o["status"], total=_amount(o["total"]))
        for c in self.charges:
            history.add(
                "final_charge",
                charge=c["_id"],
                key=c["idempotency_key"],
                status=c["status"],
                amount=c["amount"],
                refunded=c.get("refunded", 0),
            )
        for code, c in self.coupons.items():
            history.add("final_coupon", code=code, redeemed=c.get("redeemed", 0))
        for t in self.tickets:
            history.add(
                "final_ticket", ticket=t["_id"], order=t.get("order_id"), customer=t["customer_id"]
            )


@dataclass(frozen=True)
class Observed:
    """What the driver saw besides the stores.

    `supplied`: each product's initial stock plus the restocks answered 200; `stuck`:
    (time, consumer, link, history line) of each breaker seen closed through more consecutive
    failures than its policy allows.
    """

    answers: dict[int, list[Answer]]
    supplied: dict[str, int]
    stuck: tuple[tuple[float, str, str, int], ...] = ()


def check(
    schedule: Schedule, history: History, observed: Observed, state: FinalState
) -> list[Violation]:
    """Every invariant's violations, in a stable order."""
    checks = _Checks(schedule, history, observed, state)
    return [
        *checks.stock(),
        *checks.money(),
        *checks.coupons(),
        *checks.sagas(),
        *checks.idempotency(),
        *checks.told(),
        *checks.events(),
        *checks.answered(),
        *checks.breakers(),
        *checks.edges(),
    ]


def _amount(money: Any) -> int:
    return int(money["amount"]) if isinstance(money, dict) else int(money or 0)


@dataclass
class _Checks:
    schedule: Schedule
    history: History
    observed: Observed
    state: FinalState

    @property
    def answers(self) -> dict[int, list[Answer]]:
        return self.observed.answers

    def lines(self, needle: str | None) -> tuple[int, ...]:
        if not needle:
            return ()
        return tuple(n for n, line in enumerate(self.history.lines, 1) if needle in line)

    def violation(self, invariant: str, message: str, order: str | None = None) -> Violation:
        return Violation(invariant, message, order, self.lines(order))

    def _held(self) -> dict[str, int]:
        """Units per product that have left stock for good: lines of CONFIRMED orders."""
        held: Counter[str] = Counter()
        for oid, order in self.state.orders.items():
            if order["status"] == "CONFIRMED":
                for pid, qty in self.state.items.get(oid, []):
                    held[pid] += qty
        return dict(held)

    def stock(self) -> list[Violation]:
        out: list[Violation] = []
        held = self._held()
        for pid, p in self.state.products.items():
            start = self.observed.supplied[pid]
            total = p["available"] + p["reserved"] + held.get(pid, 0)
            if start != total:
                out.append(
                    self.violation(
                        "stock_conserved",
                        f"product {pid}: supplied {start} != available {p['available']}"
                        f" + reserved {p['reserved']} + sold {held.get(pid, 0)}",
                        pid,
                    )
                )
            if p["available"] < 0 or p["stock"] < 0:
                out.append(self.violation("no_oversell", f"product {pid} went negative: {p}", pid))
            if p["reserved"] != 0:
                out.append(
                    self.violation(
                        "stock_released_when_quiet",
                        f"product {pid} still holds {p['reserved']} once quiet",
                        pid,
                    )
                )
        return out

    def money(self) -> list[Violation]:
        out: list[Violation] = []
        net: Counter[str] = Counter()
        succeeded: Counter[str] = Counter()
        for charge in self.state.charges:
            if charge["status"] != "SUCCEEDED":
                continue
            oid = _order_of_key(charge["idempotency_key"], charge.get("description"))
            net[oid] += charge["amount"] - charge.get("refunded", 0)
            succeeded[oid] += 1
        for oid, order in self.state.orders.items():
            total = _amount(order["total"])
            want = total if order["status"] == "CONFIRMED" else 0
            if net.get(oid, 0) != want:
                out.append(
                    self.violation(
                        "charged_once_if_confirmed",
                        f"order {order['status']} with total {total} holds {net.get(oid, 0)}",
                        oid,
                    )
                )
            elif order["status"] == "CONFIRMED" and total > 0 and succeeded[oid] != 1:
                out.append(
                    self.violation(
                        "charged_once_if_confirmed",
                        f"confirmed order has {succeeded[oid]} successful charges",
                        oid,
                    )
                )
        for oid in sorted(set(net) - set(self.state.orders)):
            if net[oid]:
                out.append(
                    self.violation(
                        "charged_once_if_confirmed", f"{net[oid]} held with no order", oid
                    )
                )
        refunds = Counter(r["charge_id"] for r in self.state.refunds)
        for charge in self.state.charges:
            count, refunded = refunds.get(charge["_id"], 0), charge.get("refunded", 0)
            if count > 1 or refunded > charge["amount"]:
                oid = _order_of_key(charge["idempotency_key"], charge.get("description"))
                out.append(
                    self.violation(
                        "refunded_at_most_once",
                        f"charge {charge['_id']} refunded {count} times, {refunded} of "
                        f"{charge['amount']}",
                        oid,
                    )
                )
        return out

    def coupons(self) -> list[Violation]:
        out: list[Violation] = []
        for code, coupon in self.state.coupons.items():
            limit, per = coupon.get("max_redemptions"), coupon.get("max_per_customer")
            if limit is not None and coupon.get("redeemed", 0) > limit:
                out.append(
                    self.violation(
                        "coupon_limits", f"{code} redeemed {coupon['redeemed']} > limit {limit}"
                    )
                )
            for customer, used in sorted(coupon.get("per_customer", {}).items()):
                if per is not None and used > per:
                    out.append(
                        self.violation(
                            "coupon_limits", f"{code}: {customer} used it {used} > {per} times"
                        )
                    )
        held: Counter[str] = Counter()
        for redemption in self.state.redemptions:
            if redemption["status"] != "REDEEMED":
                continue
            held[str(redemption.get("code"))] += 1
            oid = redemption["order_id"]
            status = self.state.orders.get(oid, {}).get("status")
            if status != "CONFIRMED":
                out.append(
                    self.violation(
                        "coupon_used_only_by_confirmed_orders",
                        f"coupon {redemption.get('code')} stays redeemed by a {status} order",
                        oid,
                    )
                )
        for code, coupon in self.state.coupons.items():
            if coupon.get("redeemed", 0) != held.get(code, 0):
                out.append(
                    self.violation(
                        "coupon_used_only_by_confirmed_orders",
                        f"{code} counts {coupon.get('redeemed', 0)} redemptions, "
                        f"{held.get(code, 0)} stand",
                    )
                )
        return out

    def sagas(self) -> list[Violation]:
        out: list[Violation] = []
        for saga in self.state.sagas:
            oid = saga["order_id"]
            if saga["status"] not in FINAL:
                out.append(
                    self.violation(
                        "sagas_finished",
                        f"{saga['kind']} saga left {saga['status']} at step {saga['step']}",
                        oid,
                    )
                )
            twice = sorted(name for name, n in Counter(saga.get("undone", [])).items() if n > 1)
            if twice:
                out.append(self.violation("compensation_at_most_once", f"ran {twice} twice", oid))
        for oid, order in self.state.orders.items():
            if order["status"] == "PENDING":
                out.append(self.violation("sagas_finished", "order left PENDING", oid))
        return out

    def idempotency(self) -> list[Violation]:
        out: list[Violation] = []
        for n, answers in sorted(self.answers.items()):
            ids = sorted(
                {a.body["id"] for a in answers if 200 <= a.status < 300 and "id" in a.body}
            )
            if self.schedule.operations[n].kind == "checkout" and len(ids) > 1:
                out.append(
                    self.violation(
                        "one_order_per_idempotency_key",
                        f"checkout-{n} answered with orders {ids}",
                        ids[0],
                    )
                )
        keys = Counter((o["customer_id"], o["idempotency_key"]) for o in self.state.orders.values())
        for (customer, key), count in sorted(keys.items()):
            if count > 1:
                out.append(
                    self.violation(
                        "one_order_per_idempotency_key", f"{customer} has {count} orders for {key}"
                    )
                )
        return out

    def told(self) -> list[Violation]:
        out: list[Violation] = []
        cancelled = {
            self.schedule.operations[n].ref
            for n, op in enumerate(self.schedule.operations)
            if op.kind == "cancel"
        }
        for n, answers in sorted(self.answers.items()):
            op = self.schedule.operations[n]
            for answer in answers:
                if not 200 <= answer.status < 300 or "id" not in answer.body:
                    continue
                oid, told = answer.body["id"], answer.body.get("status")
                final = self.state.orders.get(oid, {}).get("status")
                allowed = {
                    "CONFIRMED": {"CONFIRMED", "CANCELLED"} if n in cancelled else {"CONFIRMED"},
                    "FAILED": {"FAILED"},
                    "CANCELLED": {"CANCELLED"},
                }.get(str(told))
                if op.kind == "cancel" and told != "CANCELLED":
                    allowed = set()
                if allowed is not None and final not in allowed:
                    out.append(
                        self.violation(
                            "told_matches_final", f"client was told {told}, order is {final}", oid
                        )
                    )
        return out

    def events(self) -> list[Violation]:
        out: list[Violation] = []
        if self.state.unrelayed:
            out.append(
                self.violation(
                    "events_applied_once", f"{self.state.unrelayed} outbox entries never relayed"
                )
            )
        confirmed: Counter[str] = Counter()
        for oid, order in self.state.orders.items():
            # A cancellation takes its units back out of `sold` (order:cancelled), once.
            if order.get("confirmed_at") is not None and order.get("status") != "CANCELLED":
                for pid, qty in self.state.items.get(oid, []):
                    confirmed[pid] += qty
        for pid, p in self.state.products.items():
            if p.get("sold", 0) != confirmed.get(pid, 0):
                out.append(
                    self.violation(
                        "events_applied_once",
                        f"product {pid} counts {p.get('sold', 0)} sold; confirmed orders hold "
                        f"{confirmed.get(pid, 0)} (order:confirmed or order:cancelled lost or "
                        "applied twice)",
                        pid,
                    )
                )
        return out

    def answered(self) -> list[Violation]:
        return [
            Violation("every_call_answered", "a client call never got an answer", None, (n,))
            for n, line in enumerate(self.history.lines, 1)
            if '"event":"unanswered"' in line
        ]

    def answer_lines(self, n: int) -> tuple[int, ...]:
        needle = f'"op":{n},'
        return tuple(
            k
            for k, line in enumerate(self.history.lines, 1)
            if '"event":"answer"' in line and needle in line
        )

    def edges(self) -> list[Violation]:
        """The gateway refuses tokens auth never signed; the ticket service opens tickets only
        on the caller's own orders; no failure is a 5xx without an error code."""
        out: list[Violation] = []
        for n, answers in sorted(self.answers.items()):
            op = self.schedule.operations[n]
            ok = [a for a in answers if 200 <= a.status < 300]
            if op.kind == "account" and op.forged and ok:
                out.append(
                    Violation(
                        "forged_tokens_refused",
                        f"a token auth never signed was answered {ok[0].status}",
                        None,
                        self.answer_lines(n),
                    )
                )
            if op.kind == "ticket" and ok and op.ref is not None:
                owner = self.schedule.operations[op.ref].customer
                if owner != op.customer:
                    out.append(
                        Violation(
                            "tickets_for_own_orders",
                            f"customer-{op.customer} opened a ticket on customer-{owner}'s order",
                            str(ok[0].body.get("order_id")),
                            self.answer_lines(n),
                        )
                    )
            for answer in answers:
                if answer.status >= 500 and _error_code(answer.body) is None:
                    out.append(
                        Violation(
                            "errors_are_clear",
                            f"{op.kind} answered {answer.status} without an error code",
                            None,
                            self.answer_lines(n),
                        )
                    )
        for ticket in self.state.tickets:
            order = self.state.orders.get(str(ticket.get("order_id")))
            if ticket.get("order_id") and (
                order is None or order["customer_id"] != ticket["customer_id"]
            ):
                out.append(
                    self.violation(
                        "tickets_for_own_orders",
                        f"ticket {ticket['_id']} of {ticket['customer_id']} names an order "
                        "that is not theirs",
                        str(ticket["order_id"]),
                    )
                )
        return out

    def breakers(self) -> list[Violation]:
        return [
            Violation(
                "breaker_opens",
                f"{consumer}'s breaker for {link} stayed closed through a run of failures "
                f"at {at:g}s",
                None,
                (line,),
            )
            for at, consumer, link, line in self.observed.stuck
        ]


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error["code"]) if isinstance(error, dict) and error.get("code") else None


def _order_of_key(key: str, description: str | None) -> str:
    # The saga charges under "order:<id>:charge".
    parts = key.split(":")
    if len(parts) >= 3 and parts[0] == "order":
        return parts[1]
    return description or key
