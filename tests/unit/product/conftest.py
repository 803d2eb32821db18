"""Fixtures for product use cases over mongomock, a fake clock and a fake category tree."""

from __future__ import annotations

import pytest
from mongomock_motor import AsyncMongoMockClient

from estore.kit.clock import FakeClock
from estore.kit.identity import Caller, Role
from estore.kit.money import Money
from estore.services.product.models import Product, ProductInput
from estore.services.product.repository import ProductRepository
from estore.services.product.service import ProductService
from estore.services.product.settings import ProductSettings

ADMIN = Caller(user_id="admin-1", email="admin@example.com", roles=frozenset({Role.ADMIN}))
ALICE = Caller(user_id="alice", email="alice@example.com", roles=frozenset({Role.CUSTOMER}))
BOB = Caller(user_id="bob", email="bob@example.com", roles=frozenset({Role.CUSTOMER}))


class FakeCategories:
    """A two-level tree: electronics > phones, laptops; books has no children."""

    tree = {"electronics": ["phones", "laptops"], "phones": [], "laptops": [], "books": []}

    async def subtree(self, category_id: str) -> list[str] | None:
        if category_id not in self.tree:
            return None
        return [category_id, *self.tree[category_id]]


@pytest.fixture
def repo() -> ProductRepository:
    return ProductRepository(AsyncMongoMockClient(tz_aware=True)["product_db"])


@pytest.fixture
async def products(repo: ProductRepository, clock: FakeClock) -> ProductService:
    await repo.ensure_indexes()
    settings = ProductSettings(sweep_interval_seconds=0, settle_grace_seconds=30)
    return ProductService(repo, FakeCategories(), clock, settings)


async def make(
    service: ProductService,
    sku: str,
    *,
    stock: int = 10,
    price: int = 1999,
    category: str | None = "phones",
    name: str | None = None,
) -> Product:
    form = ProductInput(
        sku=sku,
        name=name or f"Product {sku}",
        price=Money(amount=price, currency="EUR"),
        stock=stock,
        category_id=category,
    )
    return await service.create(form)
