"""Auth use cases over the kit's fakes, with a fake clock: expiry, limits, rotation, events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clock import FakeClock
from estore.kit.errors import TooManyRequests, Unauthorized
from estore.kit.events import Event, EventBus
from estore.kit.identity import JwksVerifier, KeyRing, Revocations, Role, TokenIssuer
from estore.kit.ratelimit import Backoff, RateLimiter
from estore.services.auth.models import Credentials, Registration
from estore.services.auth.repository import AuthRepository
from estore.services.auth.service import AuthService
from estore.services.auth.settings import AuthSettings

pytestmark = pytest.mark.redis

SETTINGS = AuthSettings(
    argon2_time_cost=1,
    argon2_memory_kib=1024,
    login_attempts_per_account=3,
    login_account_window_seconds=600,
    login_backoff_base_seconds=10,
    login_backoff_max_seconds=120,
    jwt_access_ttl_seconds=300,
    jwt_refresh_ttl_seconds=3600,
)
ALICE = Registration(email="alice@example.com", password="long enough 1", name="Alice")


@pytest.fixture
async def bus(redis: aioredis.Redis, clock: FakeClock) -> EventBus:
    return EventBus("auth", redis, AsyncMongoMockClient(tz_aware=True)["auth_db"], clock)


@pytest.fixture
async def auth(
    redis: aioredis.Redis, clock: FakeClock, bus: EventBus
) -> AsyncIterator[AuthService]:
    repo = AuthRepository(AsyncMongoMockClient(tz_aware=True)["auth_db"])
    await repo.ensure_indexes()
    issuer = TokenIssuer(KeyRing.generate(), "estore-auth", "estore", clock, 300)
    limiter = RateLimiter(redis, clock, "auth:login")
    backoff = Backoff(redis, clock, "auth:login-backoff")
    revocations = Revocations(redis, clock)
    yield AuthService(repo, issuer, limiter, backoff, revocations, bus, clock, SETTINGS)


def verifier_for(auth: AuthService, clock: FakeClock) -> JwksVerifier:
    async def fetch() -> dict[str, object]:
        return auth.issuer.keys.jwks()

    return JwksVerifier(fetch, "estore-auth", "estore", clock)


async def test_access_tokens_expire_after_their_lifetime(
    auth: AuthService, clock: FakeClock
) -> None:
    tokens = await auth.register(ALICE)
    verifier = verifier_for(auth, clock)
    assert (await verifier.verify(tokens.access_token)).email == ALICE.email
    await clock.advance(SETTINGS.jwt_access_ttl_seconds + 60)
    with pytest.raises(Exception, match="expired"):
        await verifier.verify(tokens.access_token)


async def test_refresh_tokens_expire_after_their_lifetime(
    auth: AuthService, clock: FakeClock
) -> None:
    tokens = await auth.register(ALICE)
    await clock.advance(SETTINGS.jwt_refresh_ttl_seconds + 1)
    with pytest.raises(Unauthorized, match="expired"):
        await auth.refresh(tokens.refresh_token)


async def fail_from(auth: AuthService, client: str, times: int) -> None:
    wrong = Credentials(email=ALICE.email, password="not the password")
    for _ in range(times):
        with pytest.raises(Unauthorized):
            await auth.login(wrong, client=client)


RIGHT = Credentials(email=ALICE.email, password=ALICE.password)


async def test_wrong_passwords_from_one_client_do_not_lock_the_owner_out_elsewhere(
    auth: AuthService,
) -> None:
    await auth.register(ALICE)
    await fail_from(auth, "attacker", SETTINGS.login_attempts_per_account)
    with pytest.raises(TooManyRequests):
        await auth.login(RIGHT, client="attacker")
    assert (await auth.login(RIGHT, client="owner")).user.email == ALICE.email


async def test_each_failure_past_the_free_ones_doubles_the_wait_up_to_the_cap(
    auth: AuthService, clock: FakeClock
) -> None:
    await auth.register(ALICE)
    await fail_from(auth, "attacker", SETTINGS.login_attempts_per_account - 1)
    waits = []
    for _ in range(6):
        await fail_from(auth, "attacker", 1)
        with pytest.raises(TooManyRequests) as blocked:
            await auth.login(RIGHT, client="attacker")
        waits.append(blocked.value.retry_after)
        await clock.advance(blocked.value.retry_after)
    assert waits == [10, 20, 40, 80, 120, 120]


async def test_a_successful_login_clears_the_failures_of_its_client(
    auth: AuthService, clock: FakeClock
) -> None:
    await auth.register(ALICE)
    await fail_from(auth, "laptop", SETTINGS.login_attempts_per_account)
    await clock.advance(SETTINGS.login_backoff_base_seconds)
    await auth.login(RIGHT, client="laptop")
    await fail_from(auth, "laptop", SETTINGS.login_attempts_per_account - 1)
    assert (await auth.login(RIGHT, client="laptop")).user.email == ALICE.email


async def test_failures_are_forgotten_after_the_memory_window(
    auth: AuthService, clock: FakeClock
) -> None:
    await auth.register(ALICE)
    await fail_from(auth, "laptop", SETTINGS.login_attempts_per_account - 1)
    await clock.advance(SETTINGS.login_account_window_seconds + 1)
    await fail_from(auth, "laptop", SETTINGS.login_attempts_per_account - 1)
    assert (await auth.login(RIGHT, client="laptop")).user.email == ALICE.email


async def test_unknown_accounts_and_wrong_passwords_fail_alike(auth: AuthService) -> None:
    await auth.register(ALICE)
    with pytest.raises(Unauthorized) as unknown:
        await auth.login(Credentials(email="nobody@example.com", password="x"), client="c")
    with pytest.raises(Unauthorized) as wrong:
        await auth.login(Credentials(email=ALICE.email, password="x"), client="c")
    assert unknown.value.message == wrong.value.message


async def test_registration_publishes_user_registered(
    auth: AuthService, bus: EventBus, redis: aioredis.Redis, clock: FakeClock
) -> None:
    received: list[Event] = []

    async def handler(event: Event) -> None:
        received.append(event)

    consumer = EventBus("coupon", redis, AsyncMongoMockClient(tz_aware=True)["coupon_db"], clock)
    consumer.subscribe("user:registered", handler)
    tokens = await auth.register(ALICE, roles=[Role.SUPPORT])
    await bus.drain()
    await consumer.drain()
    assert [e.data["userId"] for e in received] == [tokens.user.id]
    assert received[0].producer == "auth"
    assert tokens.user.roles == [Role.SUPPORT]


async def test_two_racing_refreshes_of_one_token_yield_one_winner(auth: AuthService) -> None:
    token = (await auth.register(ALICE)).refresh_token
    results = await asyncio.gather(auth.refresh(token), auth.refresh(token), return_exceptions=True)
    assert sum(not isinstance(r, BaseException) for r in results) == 1
