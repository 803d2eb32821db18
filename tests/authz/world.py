"""The seeded world the authorisation matrix is walked in: accounts, and one of everything.

Each kind of caller is a set of request headers (and, over WebSocket, a token). The resources
(an order, its charge, a ticket, a reservation, ...) belong to `customer`, so a cell of
`other_customer` asks for someone else's things.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from estore.cluster import Cluster
from estore.kit.identity import CALLER_HEADER, CLIENT_HEADER, Caller, Role
from estore.services.auth.models import Registration
from estore.services.auth.service import AuthService
from estore.services.payment.settings import PaymentSettings

# Walked left to right in this order: a mutation a cell allows changes what later cells see.
CALLERS = (
    "anonymous",
    "gateway",
    "service",
    "other_customer",
    "customer",
    "support",
    "admin",
)
# Only the card processor has merchants: its rows carry this extra column.
MERCHANT = "merchant"
GOOD_CARD = "4242424242424242"
PASSWORD = "matrix password 1"
PLACEHOLDER = re.compile(r"<[a-z_]+>")


@dataclass
class Account:
    user_id: str
    email: str
    token: str
    roles: frozenset[Role]

    def caller(self) -> Caller:
        return Caller(user_id=self.user_id, email=self.email, roles=self.roles)


@dataclass
class World:
    cluster: Cluster
    accounts: dict[str, Account] = field(default_factory=dict)
    # Placeholder name (as rows write it, `<order>`) -> value.
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, caller: str) -> dict[str, str]:
        """What `caller` sends: a bearer token, a peer's signed header, or nothing."""
        identity = self.cluster.infras["auth"].internal_identity
        if caller in self.accounts:
            return {"Authorization": f"Bearer {self.accounts[caller].token}"}
        if caller == "service":
            # A peer service forwarding the customer, as order does when it reserves stock.
            return {CALLER_HEADER: identity.sign(self.accounts["customer"].caller())}
        if caller == "gateway":
            # The gateway's subgraph call for an anonymous shopper: the client's address, signed.
            return {CLIENT_HEADER: identity.sign_client("203.0.113.9")}
        if caller == MERCHANT:
            settings = self.cluster.infras["payment"].settings
            assert isinstance(settings, PaymentSettings) and settings.payment_secret_key
            key = settings.payment_secret_key
            return {"Authorization": f"Bearer {key.get_secret_value()}"}
        assert caller == "anonymous", caller
        return {}

    def token(self, caller: str) -> str | None:
        account = self.accounts.get(caller)
        return account.token if account else None

    def fill(self, text: str, tag: str) -> str:
        """`text` with every `<name>` placeholder replaced; `<tag>` names the cell (app and
        caller), so keys that must be new in each cell are."""
        for name, value in {**self.ids, "tag": tag}.items():
            text = text.replace(f"<{name}>", value)
        left = PLACEHOLDER.search(text)
        if left:
            raise KeyError(f"no placeholder {left.group()} in the world: {sorted(self.ids)}")
        return text

    def filled(self, value: Any, tag: str) -> Any:
        if isinstance(value, str):
            return self.fill(value, tag)
        if isinstance(value, list):
            return [self.filled(v, tag) for v in value]
        if isinstance(value, dict):
            return {k: self.filled(v, tag) for k, v in value.items()}
        return value


async def _account(cluster: Cluster, name: str, role: Role) -> Account:
    auth = cluster.service("auth", AuthService)
    form = Registration(email=f"{name}@matrix.example.com", password=PASSWORD, name=name)
    pair = await auth.register(form, roles=[role])
    return Account(pair.user.id, pair.user.email, pair.access_token, frozenset({role}))


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, f"seeding failed: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def _new_category(cluster: Cluster, admin: dict[str, str], slug: str) -> str:
    create = "mutation($i: CreateCategoryInput!) { createCategory(input: $i) { id } }"
    variables = {"i": {"name": slug.replace("_", " ").title(), "slug": slug.replace("_", "-")}}
    async with cluster.client("category", headers=admin) as category:
        made = await _ok(
            await category.post("/graphql", json={"query": create, "variables": variables})
        )
    category_id: str = made["data"]["createCategory"]["id"]
    return category_id


async def seed(cluster: Cluster) -> World:
    """Accounts for every kind of caller, and the customer's order, charge, ticket and hold."""
    world = World(cluster)
    for name, role in (
        ("customer", Role.CUSTOMER),
        ("other_customer", Role.CUSTOMER),
        ("support", Role.SUPPORT),
        ("admin", Role.ADMIN),
    ):
        world.accounts[name] = await _account(cluster, name, role)
    world.ids["owner"] = world.accounts["customer"].user_id
    admin = world.headers("admin")
    customer = world.headers("customer")
    world.ids["category"] = await _new_category(cluster, admin, "matrix")
    world.ids["slug"] = "matrix"
    for leaf in ("leaf", "other_leaf"):  # empty leaves, for the rows that delete one
        world.ids[leaf] = await _new_category(cluster, admin, leaf)
    async with cluster.client("product", headers=admin) as product:
        for name in ("product", "spare"):
            added = await _ok(
                await product.post(
                    "/api/v1/products",
                    json={
                        "sku": f"MX-{name}",
                        "name": f"Matrix {name}",
                        "price": {"amount": 1000, "currency": "EUR"},
                        "stock": 1000,
                        "category_id": world.ids["category"],
                    },
                )
            )
            world.ids[name] = added["id"]
    async with cluster.client("coupon", headers=admin) as coupon:
        made = await _ok(
            await coupon.post(
                "/api/v1/coupons", json={"code": "MATRIX10", "kind": "PERCENT", "percent": 10}
            )
        )
    world.ids["coupon"] = made["code"]
    async with cluster.client("order", headers=customer) as order:
        placed = await _ok(
            await order.post(
                "/api/v1/orders",
                json={
                    "items": [{"product_id": world.ids["product"], "quantity": 1}],
                    "card_number": GOOD_CARD,
                    "idempotency_key": uuid.uuid4().hex,
                },
            )
        )
    assert placed["status"] == "CONFIRMED", placed
    world.ids["order"] = placed["id"]
    world.ids["charge"] = placed["payment_id"]
    async with cluster.client("product", headers=world.headers("service")) as product:
        held = await _ok(
            await product.post(
                "/api/v1/reservations",
                json={
                    "reservation_key": "matrix-hold",
                    "items": [{"product_id": world.ids["spare"], "quantity": 1}],
                    "ttl_seconds": 900,
                },
            )
        )
    world.ids["reservation"] = held["id"]
    async with cluster.client("ticket", headers=customer) as ticket:
        opened = await _ok(
            await ticket.post(
                "/api/v1/tickets",
                json={
                    "order_id": world.ids["order"],
                    "subject": "Matrix",
                    "body": "Where is my parcel?",
                },
            )
        )
    world.ids["ticket"] = opened["id"]
    return world
