"""Product use cases: the catalog, listings, stock changes, reviews and sales counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from estore.kit.clock import Clock
from estore.kit.errors import BadRequest, Conflict, NotFound, validated
from estore.kit.identity import Caller
from estore.kit.ids import new_id
from estore.kit.paging import page_size
from estore.services.product.listing import (
    Page,
    ProductFilter,
    ProductSort,
    after_clause,
    decode_cursor,
    encode_cursor,
    sort_spec,
)
from estore.services.product.models import (
    Product,
    ProductDoc,
    ProductInput,
    ProductUpdate,
    Review,
    ReviewInput,
    SoldLine,
    StockChange,
    StockRecord,
)
from estore.services.product.peers import CategoryDirectory
from estore.services.product.repository import ProductRepository
from estore.services.product.reservations import Reservations
from estore.services.product.settings import ProductSettings

MAX_REVIEWS = 100


class ProductService:
    def __init__(
        self,
        repo: ProductRepository,
        categories: CategoryDirectory,
        clock: Clock,
        settings: ProductSettings,
    ) -> None:
        self._repo = repo
        self._categories = categories
        self._clock = clock
        self._settings = settings
        self.reservations = Reservations(repo, clock, settings)

    # --- reading ----------------------------------------------------------------------------

    async def product(self, product_id: str) -> Product:
        return Product.of(await self._doc(product_id))

    async def products(self, ids: Sequence[str]) -> list[Product]:
        """The products that exist among `ids`, in the order asked; unknown ids are left out."""
        if len(ids) > self._settings.batch_max_ids:
            raise BadRequest(f"at most {self._settings.batch_max_ids} ids per request")
        found = {doc.id: doc for doc in await self._repo.products(ids)}
        return [Product.of(found[i]) for i in dict.fromkeys(ids) if i in found]

    async def page(
        self,
        filter: ProductFilter | None = None,
        sort: ProductSort = ProductSort.NEWEST,
        first: int | None = None,
        after: str | None = None,
    ) -> Page:
        size = self._settings.page_default if first is None else first
        page_size(size, self._settings.page_max, "first")
        query = await self._query(filter or ProductFilter())
        if after:
            query = {"$and": [query, after_clause(sort, *decode_cursor(after, sort))]}
        docs = await self._repo.find(query, sort_spec(sort), size + 1)
        items = docs[:size]
        return Page(
            items=items,
            cursors=[encode_cursor(sort, doc) for doc in items],
            has_next_page=len(docs) > size,
        )

    async def count(self, filter: ProductFilter | None = None) -> int:
        return await self._repo.count(await self._query(filter or ProductFilter()))

    async def count_in_category(self, category_id: str) -> int:
        """Products filed directly under the category (not its descendants)."""
        return await self._repo.count({"category_id": category_id})

    async def stock_changes(self, product_id: str) -> list[StockRecord]:
        await self._doc(product_id)
        return await self._repo.stock_changes(product_id)

    # --- admin ------------------------------------------------------------------------------

    async def create(self, form: ProductInput) -> Product:
        if form.category_id is not None:
            await self._require_category(form.category_id)
        now = self._clock.now()
        doc = ProductDoc(
            _id=new_id(),
            **form.model_dump(),
            available=form.stock,
            created_at=now,
            updated_at=now,
        )
        await self._repo.add_product(doc)
        return Product.of(doc)

    async def update(self, product_id: str, patch: ProductUpdate) -> Product:
        changes = patch.changes()
        if not changes:
            return await self.product(product_id)
        if patch.category_id is not None:
            await self._require_category(patch.category_id)
        doc = await self._repo.update_fields(product_id, changes, self._clock.now())
        if doc is None:
            raise NotFound(f"no such product: {product_id}")
        return Product.of(doc)

    async def change_stock(self, product_id: str, change: StockChange, caller: Caller) -> Product:
        """Restock, write off or recount; units held by reservations cannot be taken away."""
        current = await self._doc(product_id)
        delta = change.delta if change.delta is not None else (change.stock or 0) - current.stock
        if delta == 0:
            return Product.of(current)
        doc = await self._repo.change_stock(product_id, delta, self._clock.now())
        if doc is None:
            latest = await self._doc(product_id)
            raise Conflict(
                f"cannot remove {-delta} units: only {latest.available} are not reserved",
                details=[{"product_id": product_id, "available": latest.available}],
            )
        record = StockRecord(
            _id=new_id(),
            product_id=product_id,
            delta=delta,
            stock_after=doc.stock,
            reason=change.reason,
            by=caller.user_id,
            at=self._clock.now(),
        )
        await self._repo.record_stock_change(record)
        return Product.of(doc)

    async def restock(self, product_id: str, quantity: int, caller: Caller) -> Product:
        if quantity < 1:
            raise BadRequest(f"restock quantity must be at least 1, got {quantity}")
        change = validated(StockChange, {"delta": quantity, "reason": "restock"})
        return await self.change_stock(product_id, change, caller)

    # --- reviews and sales ------------------------------------------------------------------

    async def add_review(self, product_id: str, form: ReviewInput, caller: Caller) -> Review:
        await self._doc(product_id)
        review = Review(
            _id=new_id(),
            product_id=product_id,
            customer_id=caller.user_id,
            rating=form.rating,
            title=form.title,
            body=form.body,
            created_at=self._clock.now(),
        )
        await self._repo.add_review(review)
        rated = await self._repo.add_rating(product_id, form.rating)
        if rated is not None:
            await self._repo.set_average(rated)
        return review

    async def reviews(self, product_id: str, limit: int = 20) -> list[Review]:
        page_size(limit, MAX_REVIEWS, "page size")
        await self._doc(product_id)
        return await self._repo.reviews(product_id, limit)

    async def record_sale(self, order_id: str, items: list[dict[str, Any]]) -> bool:
        """Count a confirmed order's lines as sold, once per order; True if counted now."""
        lines = [
            SoldLine(product_id=str(i["product_id"]), quantity=int(i["quantity"])) for i in items
        ]
        if not await self._repo.record_sale(order_id, lines, self._clock.now()):
            return False
        for line in lines:
            await self._repo.add_sold(line["product_id"], line["quantity"])
        return True

    async def reverse_sale(self, order_id: str) -> bool:
        """Take a cancelled order's lines back out of sold, once; True if taken back now."""
        lines = await self._repo.reverse_sale(order_id, self._clock.now())
        for line in lines:
            await self._repo.add_sold(line["product_id"], -line["quantity"])
        return bool(lines)

    # --- helpers ----------------------------------------------------------------------------

    async def _doc(self, product_id: str) -> ProductDoc:
        doc = await self._repo.product(product_id)
        if doc is None:
            raise NotFound(f"no such product: {product_id}")
        return doc

    async def _require_category(self, category_id: str) -> None:
        if await self._categories.subtree(category_id) is None:
            raise BadRequest(f"no such category: {category_id}")

    async def _query(self, filter: ProductFilter) -> dict[str, Any]:
        ids = None
        if filter.category_id is not None:
            ids = await self._categories.subtree(filter.category_id)
            if ids is None:
                raise NotFound(f"no such category: {filter.category_id}")
        return filter.query(ids)
