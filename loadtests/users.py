"""The storefront's visitors as Locust users: browsers, shoppers, support staff and admins."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from typing import Any

from locust import HttpUser, task

from loadtests import config
from loadtests.chat import chat_live
from loadtests.gates import OUTCOME_TYPE
from loadtests.outcomes import classify
from loadtests.storefront import GraphQLStorefront

SEARCH_WORDS = ("phone", "tv", "flash", "shirt", "lamp", "book", "earbuds", "chair")
_numbers = itertools.count()


class Visitor(HttpUser):
    """What every visitor shares: fixtures, a seeded random source and think times."""

    abstract = True
    role = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = config.current()
        self.fixtures = cfg.fixtures
        self.scenario = cfg.scenario
        runner = self.environment.runner
        worker = getattr(runner, "worker_index", 0) if runner else 0
        self.number = next(_numbers) + 100_000 * worker
        self.rng = random.Random(f"{cfg.scenario.seed}:{self.role}:{self.number}")
        self.shop = GraphQLStorefront(self.client)
        self.account: dict[str, str] = {}
        self.token: str | None = None

    def wait_time(self) -> float:
        think = self.scenario.think_time
        return self.rng.uniform(think.min_s, think.max_s)

    def some_product(self) -> str | None:
        ids = self.fixtures["browse_ids"] or self.fixtures["sale_product_ids"]
        return self.rng.choice(ids) if ids else None

    def signed_in(self) -> bool:
        """Signs in on first need. A refused sign-in (already a failed request) is tried again
        at the visitor's next task, as a person would retry, rather than sending them home."""
        if self.token is None:
            self.token = self.shop.login(self.account["email"], self.account["password"])
        return self.token is not None

    def shopper_account(self) -> dict[str, str]:
        accounts: list[dict[str, str]] = self.fixtures["shoppers"]
        return accounts[self.number % len(accounts)]


class Browser(Visitor):
    """Looks around: catalog pages, search, product pages, the category tree."""

    role = "browser"

    @task(5)
    def catalog_pages(self) -> None:
        _, cursor = self.shop.products()
        if cursor and self.rng.random() < 0.5:
            self.shop.products(cursor)

    @task(3)
    def product_page(self) -> None:
        product = self.some_product()
        if product:
            self.shop.product(product)

    @task(2)
    def search(self) -> None:
        self.shop.search(self.rng.choice(SEARCH_WORDS))

    @task(1)
    def categories(self) -> None:
        self.shop.categories()


class Shopper(Visitor):
    """Signs in, browses, fills a cart and checks out: the funnel's weights are the task
    weights, so browse : cart : checkout runs as the scenario says."""

    role = "shopper"

    def on_start(self) -> None:
        self.account = self.shopper_account()
        self.signed_in()
        self.cart: dict[str, int] = {}
        funnel = self.scenario.funnel
        self.tasks: list[Any] = (
            [Shopper.browse] * round(funnel.browse)
            + [Shopper.add_to_cart] * round(funnel.cart)
            + [Shopper.checkout] * round(funnel.checkout)
        )

    @task(60)
    def browse(self) -> None:
        if self.rng.random() < 0.5:
            self.shop.products()
        else:
            product = self.some_product()
            if product:
                self.shop.product(product)

    @task(10)
    def add_to_cart(self) -> None:
        sale = self.scenario.sale
        hot = self.fixtures["sale_product_ids"]
        wanted = (
            self.rng.choice(hot) if hot and self.rng.random() < sale.hot_share else None
        ) or self.some_product()
        if wanted and self.shop.product(wanted, name="CartCheck") is not None:
            self.cart[wanted] = min(
                sale.max_quantity, self.cart.get(wanted, 0) + self.rng.randint(1, 2)
            )

    @task(3)
    def checkout(self) -> None:
        if not self.signed_in():
            return
        if not self.cart:
            self.add_to_cart()
        if not self.cart:
            return
        self._place(self._order())
        self.cart = {}

    def _order(self) -> dict[str, Any]:
        sale = self.scenario.sale
        codes = self.fixtures["coupon_codes"]
        declined = self.rng.random() < sale.declined_card_share
        return {
            "items": [{"product_id": p, "quantity": q} for p, q in sorted(self.cart.items())],
            "card_number": self.rng.choice(self.fixtures["declined_cards"])
            if declined
            else self.fixtures["good_card"],
            "idempotency_key": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "coupon_code": self.rng.choice(codes)
            if codes and self.rng.random() < sale.coupon_share
            else None,
        }

    def _place(self, order: dict[str, Any]) -> None:
        started = time.perf_counter()
        placed = self.shop.checkout(order)
        if placed is None:
            return
        self.environment.events.request.fire(
            request_type=OUTCOME_TYPE,
            name=classify(placed).value,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
            context={},
        )


class Admin(Visitor):
    """Restocks the everyday catalog (never the sale items: the sale stays short on purpose)
    and creates campaign coupons, through the gateway's admin mutations."""

    role = "admin"

    def on_start(self) -> None:
        self.account = self.fixtures["admin"]
        self.signed_in()
        sale = set(self.fixtures["sale_product_ids"])
        self.everyday = [p for p in self.fixtures["browse_ids"] if p not in sale]

    @task(3)
    def restock(self) -> None:
        if self.everyday and self.signed_in():
            self.shop.restock(self.rng.choice(self.everyday), self.rng.randint(1, 5))

    @task(1)
    def create_coupon(self) -> None:
        if not self.signed_in():
            return
        code = f"LOAD-{self.number}-{self.rng.getrandbits(32):08X}"
        coupon = {"code": code, "kind": "PERCENT", "percent": 5, "max_redemptions": 10}
        self.shop.create_coupon(coupon)


class SupportSeeker(Visitor):
    """A customer who needs help: looks at their orders (GraphQL), opens a ticket over the
    ticket service's REST and chats about it live over its WebSocket (the ticket service is
    not federated); a support agent, signed in through the gateway too, answers over REST."""

    role = "support"

    def on_start(self) -> None:
        self.account = self.shopper_account()
        self.agent_desk = GraphQLStorefront(self.client)
        self.agent: str | None = None
        self.ticket: str | None = None
        self.signed_in()

    def agent_signed_in(self) -> bool:
        if self.agent is None:
            support = self.fixtures["support"]
            self.agent = self.agent_desk.login(support["email"], support["password"])
        return self.agent is not None

    def _tickets(self, path: str, token: str | None, name: str, body: dict[str, Any]) -> Any:
        url = f"{self.fixtures['urls']['ticket']}/api/v1{path}"
        headers = {"Authorization": f"Bearer {token}"}
        response = self.client.post(url, json=body, headers=headers, name=f"rest {name}")
        # Locust reports a connection that failed as status 0, with no body to read.
        return response.json() if 200 <= response.status_code < 300 else None

    @task(1)
    def open_ticket(self) -> None:
        if not self.signed_in():
            return
        self.shop.my_orders()
        body = {"subject": "Where is my sale order?", "body": "It says pending, is it coming?"}
        opened = self._tickets("/tickets", self.token, "OpenTicket", body)
        self.ticket = opened["id"] if opened else self.ticket

    @task(3)
    def chat(self) -> None:
        if self.ticket is None:  # a ticket is opened signed in
            return self.open_ticket()
        base = self.fixtures["urls"]["ticket"].replace("http://", "ws://")
        chat_live(self, f"{base}/ws/tickets/{self.ticket}?token={self.token}")
        return None

    @task(2)
    def agent_replies(self) -> None:
        if self.ticket is not None and self.agent_signed_in():
            body = {"body": "Thanks for waiting: it ships today."}
            self._tickets(f"/tickets/{self.ticket}/messages", self.agent, "AgentReply", body)
