"""Loading the generated catalog into the cluster through the services' own use cases."""

from __future__ import annotations

import httpx
import pytest

from estore.catalog import generate_catalog, load_catalog
from estore.cluster import Cluster
from estore.services.category.service import CategoryService
from estore.services.product.service import ProductService

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_loaded_catalog_is_browsable_and_loading_again_adds_nothing(
    fresh: Cluster, product: httpx.AsyncClient
) -> None:
    catalog = generate_catalog(seed=3, products=120, categories=15)
    products = fresh.service("product", ProductService)
    categories = fresh.service("category", CategoryService)
    first = await load_catalog(products, categories, catalog)
    again = await load_catalog(products, categories, catalog)
    assert (first.categories_created, first.products_created) == (15, 120)
    assert (again.categories_existing, again.products_existing) == (15, 120)

    top = next(c for c in catalog.categories if c.parent is None)
    below = {top.slug}
    for category in catalog.categories:
        if category.parent in below:
            below.add(category.slug)
    expected = sorted(p.sku for p in catalog.products if p.category in below)
    department = await categories.by_slug(top.slug)
    listed: list[str] = []
    after = ""
    while True:
        query = f"category_id={department.id}&first=50&sort=NAME" + (
            f"&after={after}" if after else ""
        )
        page = (await product.get(f"/api/v1/products?{query}")).json()
        listed += [p["sku"] for p in page["items"]]
        if page["next_cursor"] is None:
            break
        after = page["next_cursor"]
    assert sorted(listed) == expected
    assert expected, "the department holds products"
