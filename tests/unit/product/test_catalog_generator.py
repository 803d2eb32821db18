"""The seeded catalog generator: deterministic, the sizes asked, a tree two or three deep."""

from __future__ import annotations

from collections import Counter

import pytest

from estore.catalog import Catalog, generate_catalog
from estore.services.product.models import ProductInput


def depths(catalog: Catalog) -> dict[str, int]:
    seen: dict[str, int] = {}
    for category in catalog.categories:
        # Parents come first, so a KeyError here would mean a child listed before its parent.
        seen[category.slug] = 0 if category.parent is None else seen[category.parent] + 1
    return seen


@pytest.fixture(scope="module")
def default() -> Catalog:
    return generate_catalog()


def test_the_same_seed_gives_the_same_catalog(default: Catalog) -> None:
    assert generate_catalog(seed=7) == default
    other = generate_catalog(seed=8)
    assert other != default
    assert [p.name for p in other.products[:20]] != [p.name for p in default.products[:20]]


def test_the_default_is_two_thousand_products_in_fifty_categories_three_deep(
    default: Catalog,
) -> None:
    assert (len(default.products), len(default.categories)) == (2000, 50)
    levels = Counter(depths(default).values())
    assert set(levels) == {0, 1, 2}
    assert levels[2] > 0


def test_slugs_and_skus_are_unique_and_valid(default: Catalog) -> None:
    slugs = [c.slug for c in default.categories]
    skus = [p.sku for p in default.products]
    assert len(set(slugs)) == len(slugs)
    assert len(set(skus)) == len(skus)
    sample = default.products[0]
    ProductInput(sku=sample.sku, name=sample.name, price=sample.price, stock=sample.stock)


def test_products_live_only_in_leaves_and_every_leaf_has_some(default: Catalog) -> None:
    parents = {c.parent for c in default.categories if c.parent}
    leaves = {c.slug for c in default.categories} - parents
    homes = Counter(p.category for p in default.products)
    assert set(homes) == leaves


def test_prices_and_stock_look_like_a_real_shop(default: Catalog) -> None:
    prices = sorted(p.price.amount for p in default.products)
    assert all(isinstance(a, int) and a > 0 for a in prices)
    assert all(a % 100 in (49, 99) for a in prices)
    assert prices[len(prices) // 2] < 20_000, "the median item costs less than 200 EUR"
    assert prices[-1] > 100_000, "yet some cost over 1000 EUR"
    out = sum(p.stock == 0 for p in default.products)
    assert 0.02 < out / len(default.products) < 0.10


@pytest.mark.parametrize(("products", "categories"), [(10, 3), (60, 12), (5000, 120)])
def test_sizes_are_parameters(products: int, categories: int) -> None:
    catalog = generate_catalog(seed=1, products=products, categories=categories)
    assert (len(catalog.products), len(catalog.categories)) == (products, categories)
    assert len({c.slug for c in catalog.categories}) == categories
    assert max(depths(catalog).values()) <= 2


def test_a_tree_needs_at_least_three_categories() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        generate_catalog(categories=2)
