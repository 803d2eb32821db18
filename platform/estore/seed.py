"""Demo data: the accounts a newcomer logs in with, the catalog, and a public coupon."""

from __future__ import annotations

from dataclasses import dataclass

from estore.catalog import LoadReport, generate_catalog, load_catalog
from estore.cluster import Cluster
from estore.kit.errors import Conflict
from estore.kit.identity import Role
from estore.services.auth.models import Registration
from estore.services.auth.service import AuthService

DEFAULT_PRODUCTS = 2000


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


async def seed(cluster: Cluster, products: int = DEFAULT_PRODUCTS) -> SeedReport:
    """Fill the cluster's stores through the services' own use cases; safe to run twice."""
    report = SeedReport()
    await _seed_users(cluster, report)
    if {"product", "category"} <= cluster.apps.keys() and products > 0:
        report.catalog = await load_catalog(
            cluster.apps["product"].state.service,
            cluster.apps["category"].state.service,
            generate_catalog(products=products),
        )
    return report


async def _seed_users(cluster: Cluster, report: SeedReport) -> None:
    auth: AuthService = cluster.apps["auth"].state.service
    for user in DEMO_USERS:
        form = Registration(email=user.email, password=user.password, name=user.name)
        try:
            await auth.register(form, roles=[user.role])
            report.users_created += 1
        except Conflict:
            report.users_existing += 1
