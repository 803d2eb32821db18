"""Demo data: the accounts a newcomer logs in with, the catalog, and a public coupon."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from fastapi import FastAPI
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

from estore.catalog import (
    Attempt,
    Catalog,
    LoadReport,
    generate_catalog,
    load_catalog,
    load_categories,
    load_products,
)
from estore.cluster import Cluster
from estore.kit.app import app_service
from estore.kit.clients import DependencyError
from estore.kit.errors import Conflict, Unavailable
from estore.kit.identity import Role
from estore.kit.infra import Infra
from estore.kit.startup import StartupWork
from estore.services.auth.models import Registration
from estore.services.auth.service import AuthService
from estore.services.category.service import CategoryService
from estore.services.product.service import ProductService

DEFAULT_PRODUCTS = 2000
SEEDING = "seeding"
# Each step is tried this often before seeding gives up; the waits between double to 10 s.
ATTEMPTS = 6
# One process per service: the product service waits this long for the category service to
# have seeded its tree (eight processes starting cold on two cores take a while).
CATEGORIES_WAIT_S = 120.0
CATEGORIES_POLL_S = 0.5

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
    await _seed_users(cluster.service("auth", AuthService), report, attempt)
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
    return await _while_serving(cluster.wiring.startup, seed(cluster, products, sleep=sleep))


async def seed_service_while_serving(
    app: FastAPI, infra: Infra, products: int = DEFAULT_PRODUCTS, *, sleep: Sleep = asyncio.sleep
) -> SeedReport | str:
    """One service's own share of the demo data, when each service runs in its own process on
    its own stores: auth the accounts, category the tree, product the products (filed under
    the ids the category service gave the tree); other services hold none of it."""
    share = _SHARES.get(infra.settings.service)
    if share is None:
        return SeedReport()
    work = share(app, infra, generate_catalog(products=products), _retrying(sleep))
    return await _while_serving(infra.startup, work)


async def _while_serving(startup: StartupWork, work: Awaitable[SeedReport]) -> SeedReport | str:
    startup.begin(SEEDING)
    try:
        report = await work
    except Exception as exc:  # any failure: report it, keep serving what is there
        reason = f"{type(exc).__name__}: {exc}"
        log.error("seeding failed", exc_info=exc)
        startup.fail(SEEDING, reason)
        return reason
    startup.finish(SEEDING)
    return report


async def _auth_share(app: FastAPI, _: Infra, __: Catalog, attempt: Attempt) -> SeedReport:
    report = SeedReport()
    await _seed_users(app_service(app, AuthService), report, attempt)
    return report


async def _category_share(app: FastAPI, _: Infra, catalog: Catalog, attempt: Attempt) -> SeedReport:
    report = SeedReport(catalog=LoadReport())
    assert report.catalog is not None
    await load_categories(app_service(app, CategoryService), catalog, report.catalog, attempt)
    return report


async def _product_share(
    app: FastAPI, infra: Infra, catalog: Catalog, attempt: Attempt
) -> SeedReport:
    report = SeedReport(catalog=LoadReport())
    assert report.catalog is not None
    ids = await _seeded_category_ids(infra, catalog)
    await load_products(app_service(app, ProductService), catalog, ids, report.catalog, attempt)
    return report


class _CategoriesMissing(Exception):
    pass


async def _seeded_category_ids(infra: Infra, catalog: Catalog) -> dict[str, str]:
    """The tree's ids by slug, read from the category service once it has seeded all of it."""
    wanted = {seed.slug for seed in catalog.categories}
    retrying = AsyncRetrying(
        retry=retry_if_exception_type((_CategoriesMissing, Unavailable, DependencyError)),
        stop=stop_after_delay(CATEGORIES_WAIT_S),
        wait=wait_fixed(CATEGORIES_POLL_S),
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            answer = await infra.clients["category"].get("/api/v1/categories")
            ids = {item["slug"]: item["id"] for item in answer.json()["items"]}
            missing = wanted - ids.keys()
            if missing:
                raise _CategoriesMissing(f"the category service lacks {len(missing)} categories")
            return ids
    raise AssertionError("tenacity ends by returning or re-raising")


_SHARES: dict[str, Callable[[FastAPI, Infra, Catalog, Attempt], Awaitable[SeedReport]]] = {
    "auth": _auth_share,
    "category": _category_share,
    "product": _product_share,
}


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


async def _seed_users(auth: AuthService, report: SeedReport, attempt: Attempt) -> None:
    for user in DEMO_USERS:
        form = Registration(email=user.email, password=user.password, name=user.name)
        try:
            await attempt(partial(auth.register, form, roles=[user.role]))
            report.users_created += 1
        except Conflict:
            report.users_existing += 1
