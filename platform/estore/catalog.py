"""Deterministic demo catalog: a seeded category tree and products, and loading them into services.

`generate_catalog(seed)` is a pure function of its arguments, so `estore seed`, tests, load runs
and benchmarks that pass the same seed and sizes see the same catalog. `load_catalog` puts one
into running services through their own use cases, and is safe to run twice.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from estore.kit.errors import Conflict
from estore.kit.money import Money
from estore.services.category.models import CategoryInput, slugify
from estore.services.product.models import ProductInput

T = TypeVar("T")
Attempt = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]

# Department -> (subcategory, product nouns, price range in euros, third-level names).
DEPARTMENTS: dict[str, list[tuple[str, tuple[str, ...], tuple[int, int], tuple[str, ...]]]] = {
    "Electronics": [
        ("Phones", ("Smartphone", "Phone"), (99, 1399), ("Android Phones", "Rugged Phones")),
        ("Laptops", ("Laptop", "Notebook"), (349, 2999), ("Gaming Laptops", "Ultrabooks")),
        ("Headphones", ("Headphones", "Earbuds"), (19, 449), ("Wireless Earbuds",)),
        ("Cameras", ("Camera", "Lens"), (149, 2499), ("Mirrorless Cameras", "Action Cameras")),
        ("Televisions", ("TV", "Smart TV"), (199, 3499), ()),
        ("Tablets", ("Tablet", "E-Reader"), (79, 1299), ()),
    ],
    "Home & Kitchen": [
        ("Cookware", ("Frying Pan", "Saucepan", "Dutch Oven"), (15, 249), ("Cast Iron",)),
        ("Small Appliances", ("Toaster", "Kettle", "Blender"), (19, 399), ("Coffee Machines",)),
        ("Furniture", ("Chair", "Desk", "Bookshelf"), (49, 1299), ("Office Furniture",)),
        ("Bedding", ("Duvet", "Pillow", "Sheet Set"), (15, 299), ()),
        ("Lighting", ("Desk Lamp", "Floor Lamp", "Pendant Light"), (12, 399), ()),
    ],
    "Fashion": [
        ("Men's Clothing", ("Shirt", "Jacket", "Chinos"), (15, 299), ("Men's Outerwear",)),
        ("Women's Clothing", ("Dress", "Blouse", "Coat"), (15, 349), ("Women's Outerwear",)),
        ("Shoes", ("Sneakers", "Boots", "Loafers"), (29, 249), ("Running Shoes",)),
        ("Bags", ("Backpack", "Tote", "Messenger Bag"), (19, 399), ()),
        ("Watches", ("Watch", "Smartwatch"), (39, 899), ()),
    ],
    "Sports & Outdoors": [
        ("Fitness", ("Yoga Mat", "Kettlebell", "Resistance Band"), (9, 349), ("Home Gym",)),
        ("Cycling", ("Bike Helmet", "Bike Light", "Saddle"), (12, 1999), ("E-Bikes",)),
        ("Camping", ("Tent", "Sleeping Bag", "Camping Stove"), (19, 699), ()),
        ("Running", ("Running Vest", "Water Bottle", "Headlamp"), (9, 199), ()),
    ],
    "Books": [
        ("Fiction", ("Novel", "Thriller", "Short Stories"), (8, 35), ("Crime", "Fantasy")),
        ("Non-Fiction", ("Biography", "History", "Essay Collection"), (10, 45), ("Science",)),
        ("Children's Books", ("Picture Book", "Early Reader"), (6, 25), ()),
        ("Cookbooks", ("Cookbook",), (12, 49), ()),
    ],
    "Toys & Games": [
        ("Board Games", ("Board Game", "Card Game"), (12, 89), ("Strategy Games",)),
        ("Puzzles", ("Jigsaw Puzzle", "3D Puzzle"), (9, 59), ()),
        ("Building Sets", ("Building Set", "Marble Run"), (15, 299), ()),
        ("Outdoor Play", ("Kite", "Water Blaster", "Swing"), (9, 199), ()),
    ],
    "Beauty": [
        ("Skincare", ("Moisturiser", "Serum", "Cleanser"), (7, 119), ("Sun Care",)),
        ("Haircare", ("Shampoo", "Conditioner", "Hair Dryer"), (5, 299), ()),
        ("Fragrance", ("Eau de Parfum", "Eau de Toilette"), (25, 199), ()),
    ],
    "Garden": [
        ("Garden Tools", ("Pruner", "Spade", "Hose"), (9, 149), ("Power Tools",)),
        ("Grills", ("Charcoal Grill", "Gas Grill"), (49, 1299), ()),
        ("Plants & Seeds", ("Seed Kit", "Potted Herb", "Bulb Mix"), (3, 49), ()),
    ],
    "Grocery": [
        ("Coffee", ("Coffee Beans", "Ground Coffee"), (5, 39), ()),
        ("Tea", ("Green Tea", "Black Tea", "Herbal Tea"), (3, 29), ()),
        ("Snacks", ("Dark Chocolate", "Trail Mix", "Crackers"), (2, 15), ()),
    ],
}
BRANDS = (
    "Nordwind",
    "Aurelia",
    "Kestrel",
    "Vantor",
    "Luma",
    "Brightfield",
    "Orro",
    "Selva",
    "Tidewell",
    "Corvid",
    "Halden",
    "Mirael",
    "Quillon",
    "Ashgrove",
    "Zephra",
    "Pellum",
)
LINES = ("Pro", "Lite", "Classic", "Max", "Air", "Plus", "Essential", "Studio", "Go", "Prime")
COLOURS = ("black", "white", "graphite", "navy", "sand", "forest green", "red", "silver")
ROMAN = ("II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


@dataclass(frozen=True)
class CategorySeed:
    slug: str
    name: str
    parent: str | None
    position: int


@dataclass(frozen=True)
class ProductSeed:
    sku: str
    name: str
    description: str
    price: Money
    stock: int
    category: str
    images: tuple[str, ...]
    attributes: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class Catalog:
    seed: int
    categories: tuple[CategorySeed, ...]
    products: tuple[ProductSeed, ...]


@dataclass
class _Node:
    name: str
    parent: _Node | None
    nouns: tuple[str, ...]
    prices: tuple[int, int]
    children: list[_Node] = field(default_factory=list)
    slug: str = ""


def generate_catalog(seed: int = 7, products: int = 2000, categories: int = 50) -> Catalog:
    """A realistic catalog: `categories` categories two or three levels deep, `products` products
    spread over the leaves; the same arguments always give the same catalog."""
    if categories < 3 or products < 0:
        raise ValueError("need at least 3 categories (a tree two levels deep) and products >= 0")
    rng = random.Random(seed)
    nodes = _tree(rng, categories)
    _assign_slugs(nodes)
    leaves = [n for n in nodes if not n.children and n.nouns]
    homes = leaves * (products // len(leaves)) + rng.sample(leaves, products % len(leaves))
    rng.shuffle(homes)
    return Catalog(
        seed=seed,
        categories=tuple(
            CategorySeed(n.slug, n.name, n.parent.slug if n.parent else None, _position(n))
            for n in nodes
        ),
        products=tuple(_product(rng, index, home) for index, home in enumerate(homes)),
    )


def _tree(rng: random.Random, size: int) -> list[_Node]:
    """Parents before children: departments, then subcategories, then a third level."""
    names = list(DEPARTMENTS)
    rng.shuffle(names)
    tops = [_Node(name, None, (), (0, 0)) for name in names[: max(1, min(len(names), size // 6))]]
    seconds = [
        _Node(sub, top, nouns, prices)
        for top in tops
        for sub, nouns, prices, _ in rng.sample(DEPARTMENTS[top.name], len(DEPARTMENTS[top.name]))
    ]
    rest = size - len(tops)
    # About a third of what is left goes to the third level, so the tree is three deep.
    wanted_thirds = rest - min(len(seconds), math.ceil(rest * 0.7))
    chosen = _round_robin(seconds, rest - wanted_thirds)
    thirds = [
        _Node(name, parent, parent.nouns, parent.prices)
        for parent in chosen
        for name in _third_names(parent)
    ]
    rng.shuffle(thirds)
    thirds = thirds[:wanted_thirds]
    thirds += _numbered(chosen, size - len(tops) - len(chosen) - len(thirds))
    nodes = [*tops, *chosen, *thirds]
    for node in nodes:
        if node.parent is not None:
            node.parent.children.append(node)
    return nodes


def _round_robin(seconds: list[_Node], count: int) -> list[_Node]:
    """`count` subcategories taken one per department in turn, so every department gets some."""
    by_top: dict[str, list[_Node]] = {}
    for node in seconds:
        by_top.setdefault(node.parent.name if node.parent else "", []).append(node)
    queues = list(by_top.values())
    picked: list[_Node] = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def _third_names(parent: _Node) -> tuple[str, ...]:
    for sub, _, _, thirds in DEPARTMENTS[parent.parent.name if parent.parent else ""]:
        if sub == parent.name:
            return thirds
    return ()


def _numbered(parents: list[_Node], count: int) -> list[_Node]:
    """Filler third-level series once the named table runs out (very large trees only)."""
    extra: list[_Node] = []
    for n in range(max(0, count)):
        parent = parents[n % len(parents)]
        series = ROMAN[(n // len(parents)) % len(ROMAN)] + ("" if n < len(parents) * 9 else str(n))
        extra.append(_Node(f"{parent.name} {series}", parent, parent.nouns, parent.prices))
    return extra


def _assign_slugs(nodes: list[_Node]) -> None:
    taken: set[str] = set()
    for node in nodes:
        slug = slugify(node.name)
        if slug in taken and node.parent is not None:
            slug = slugify(f"{node.parent.name} {node.name}")
        node.slug = slug
        taken.add(slug)


def _position(node: _Node) -> int:
    siblings = node.parent.children if node.parent else []
    return siblings.index(node) if node in siblings else 0


def _product(rng: random.Random, index: int, home: _Node) -> ProductSeed:
    brand, line, noun = rng.choice(BRANDS), rng.choice(LINES), rng.choice(home.nouns)
    colour = rng.choice(COLOURS)
    low, high = home.prices
    # Log-uniform, ending in .99 or .49: cheap items are more common, as in real shops.
    euros = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    cents = max(99, euros * 100 + rng.choice((-1, -51)))
    roll = rng.random()
    stock = 0 if roll < 0.05 else rng.randint(1, 5) if roll < 0.15 else rng.randint(6, 400)
    prefix = "".join(ch for ch in slugify(home.name) if ch.isalnum())[:3].upper()
    sku = f"{prefix}-{index + 1:06d}"
    model = f"{rng.choice('ABCDEFGHKMRSTX')}{rng.randint(1, 99)}"
    return ProductSeed(
        sku=sku,
        name=f"{brand} {line} {noun} {model}",
        description=(
            f"The {brand} {line} {noun.lower()} in {colour}: part of our {home.name.lower()} "
            f"range, built to last and backed by a two-year warranty."
        ),
        price=Money(amount=cents, currency="EUR"),
        stock=stock,
        category=home.slug,
        images=(f"https://images.example.com/{sku.lower()}/1.jpg",),
        attributes={"brand": brand, "colour": colour, "model": model},
    )


@dataclass
class LoadReport:
    categories_created: int = 0
    categories_existing: int = 0
    products_created: int = 0
    products_existing: int = 0

    def lines(self) -> list[str]:
        return [
            f"categories: {self.categories_created} created, {self.categories_existing} existing",
            f"products: {self.products_created} created, {self.products_existing} existing",
        ]


async def _once(step: Callable[[], Awaitable[T]]) -> T:
    return await step()


async def load_catalog(
    product_service: Any, category_service: Any, catalog: Catalog, attempt: Attempt = _once
) -> LoadReport:
    """Create the catalog through the services' use cases; what exists already is kept.

    Each create runs through `attempt`, which may try it again (seeding retries a peer that
    did not answer); a retried create that had landed meets Conflict and counts as existing.
    """
    report = LoadReport()
    ids = await load_categories(category_service, catalog, report, attempt)
    await load_products(product_service, catalog, ids, report, attempt)
    return report


async def load_categories(
    category_service: Any, catalog: Catalog, report: LoadReport, attempt: Attempt = _once
) -> dict[str, str]:
    """The catalog's categories, created where missing; their ids by slug."""
    ids: dict[str, str] = {}
    for seed in catalog.categories:
        form = CategoryInput(
            name=seed.name,
            slug=seed.slug,
            parent_id=ids[seed.parent] if seed.parent else None,
            position=seed.position,
        )
        try:
            ids[seed.slug] = (await attempt(partial(category_service.create, form))).id
            report.categories_created += 1
        except Conflict:
            ids[seed.slug] = (await attempt(partial(category_service.by_slug, seed.slug))).id
            report.categories_existing += 1
    return ids


async def load_products(
    product_service: Any,
    catalog: Catalog,
    category_ids: dict[str, str],
    report: LoadReport,
    attempt: Attempt = _once,
) -> None:
    """The catalog's products, created where missing, filed under `category_ids` (by slug)."""
    for item in catalog.products:
        product = ProductInput(
            sku=item.sku,
            name=item.name,
            description=item.description,
            price=item.price,
            stock=item.stock,
            category_id=category_ids[item.category],
            images=list(item.images),
            attributes=item.attributes,
        )
        try:
            await attempt(partial(product_service.create, product))
            report.products_created += 1
        except Conflict:
            report.products_existing += 1
