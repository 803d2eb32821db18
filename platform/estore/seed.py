"""Demo data: the accounts a newcomer logs in with, the catalog, and a public coupon."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from estore.catalog import Attempt, LoadReport, generate_catalog, load_catalog
from estore.cluster import Cluster
from estore.kit.clients import DependencyError
from estore.kit.errors import Conflict, Unavailable
from estore.kit.identity import Role
from estore.services.auth.models import Registration
from estore.services.auth.service import AuthService
from estore.services.category.service import CategoryService
from estore.services.product.service import ProductService

DEFAULT_PRODUCTS = 2000
SEEDING = "seeding"
# Each step is tried this often before seeding gives up; the waits between double to 10 s.
ATTEMPTS = 6

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    name: str
    role: Role


DEMO_USERS = (
    DemoUser("customer@example.com", "customer-pass-1", "Casey Customer", Role.CUSTOMER),
    DemoUser("support@example.com", "support-pass-1", "Sam Support", Role.SUPPORT),
    DemoUser("admin@example.com", "admin-pass-1", "Alex Admin", Role.ADMIN),
)


@dataclass
class SeedReport:
    users_created: int = 0
    users_existing: int = 0
    catalog: LoadReport | None = None

    def lines(self) -> list[str]:
        lines = [f"users: {self.users_created} created, {self.users_existing} already there"]
        return lines + (self.catalog.lines() if self.catalog else [])


async def seed(
    cluster: Cluster, products: int = DEFAULT_PRODUCTS, *, sleep: Sleep = asyncio.sleep
) -> SeedReport:
    """Fill the cluster's stores through the services' own use cases; safe to run twice.

    A step that meets a service unavailable (a slow or refused peer call) is tried again
    after a wait; what the services refuse for good (bad input) is not.
    """
    attempt = _retrying(sleep)
    report = SeedReport()
    await _seed_users(cluster, report, attempt)
    if {"product", "category"} <= cluster.apps.keys() and products > 0:
        report.catalog = await load_catalog(
            cluster.service("product", ProductService),
            cluster.service("category", CategoryService),
            generate_catalog(products=products),
            attempt,
        )
    return report


async def seed_while_serving(
    cluster: Cluster, products: int = DEFAULT_PRODUCTS, *, sleep: Sleep = asyncio.sleep
) -> SeedReport | str:
    """Seed a cluster that is already serving: the report, or why seeding failed.

    Readiness says "seeding" until it is done, and keeps saying why if it failed; a failure
    never stops the servers (it used to take the whole `estore up` down).
    """
    startup = cluster.wiring.startup
    startup.begin(SEEDING)
    try:
        report = await seed(cluster, products, sleep=sleep)
    except Exception as exc:  # any failure: report it, keep serving what is there
        reason = f"{type(exc).__name__}: {exc}"
        log.error("seeding failed", exc_info=exc)
        startup.fail(SEEDING, reason)
        return reason
    startup.finish(SEEDING)
    return report


def _retrying(sleep: Sleep) -> Attempt:
    async def attempt(step: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((Unavailable, DependencyError)),
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential(multiplier=0.5, max=10),
            sleep=sleep,
            reraise=True,
        )
        async for trial in retrying:
            with trial:
                return await step()
        raise AssertionError("tenacity ends by returning or re-raising")

    return attempt


async def _seed_users(
    cluster: Cluster,
    report: SeedReport,
    attempt: Attempt,
) -> None:
    auth = cluster.service("auth", AuthService)
    for user in DEMO_USERS:
        form = Registration(email=user.email, password=user.password, name=user.name)
        try:
            await attempt(partial(auth.register, form, roles=[user.role]))
            report.users_created += 1
        except Conflict:
            report.users_existing += 1
