"""Message pact coupon <- auth: `user:registered` gives the new customer a welcome coupon."""

from __future__ import annotations

from pact import match

from contracts.harness.messages import ID, as_event, deliver, envelope, timestamp
from contracts.harness.pacts import PactBook, book_fixture
from estore.cluster import Cluster
from estore.kit.bootstrap import Wiring
from estore.kit.events.catalog import UserRegistered
from estore.kit.identity import Caller
from estore.services.coupon.service import CouponService

book = book_fixture("coupon", "auth")


async def test_coupon_issues_a_welcome_coupon_for_a_registered_user(book: PactBook) -> None:
    pact = book.new()
    (
        pact.upon_receiving("a user:registered event for a new customer", "Async")
        .given("a customer registers")
        .with_body(
            envelope(
                UserRegistered.NAME,
                "auth",
                {
                    "userId": match.regex("3f2a9c0d8e7b4a1f9c2d3e4f5a6b7c8d", regex=ID),
                    "email": match.regex("ada@example.com", regex=r"^[^@\s]+@[^@\s]+$"),
                    "name": match.str("Ada"),
                    "registeredAt": timestamp("2024-06-01T12:00:00+00:00"),
                },
            ),
            "application/json",
        )
    )
    bodies: list[str | bytes | None] = []
    pact.verify(lambda body, _metadata: bodies.append(body), "Async")

    cluster = Cluster(Wiring(), services=["coupon"])
    await cluster.start()
    try:
        service = cluster.service("coupon", CouponService)
        infra = cluster.infras["coupon"]
        for body in bodies:
            event = as_event(body)
            await deliver(infra.redis, infra.bus, event)
            await deliver(infra.redis, infra.bus, event)  # redelivered: still one coupon
            user_id = event.data["userId"]
            caller = Caller(user_id=user_id, email=event.data["email"], roles=frozenset())
            mine = await service.my_coupons(caller)
            assert [c.code for c in mine] == [f"WELCOME-{user_id.upper()}"]
    finally:
        await cluster.stop()
    assert len(bodies) == 1
    book.record(pact)
