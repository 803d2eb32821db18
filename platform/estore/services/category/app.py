"""Category service app: wires the repository, Redis cache and product client into the kit's app."""

from __future__ import annotations

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.infra import Infra
from estore.services.category import routes
from estore.services.category.cache import CategoryCache
from estore.services.category.peers import ProductPeer
from estore.services.category.repository import CategoryRepository
from estore.services.category.schema import build_schema
from estore.services.category.service import CategoryService
from estore.services.category.settings import CategorySettings


def create_app(infra: Infra[CategorySettings]) -> FastAPI:
    settings = infra.settings
    repo = CategoryRepository(infra.db)
    cache = CategoryCache(infra.redis, settings.cache_ttl_seconds)
    service = CategoryService(
        repo, cache, ProductPeer(infra.clients["product"]), infra.clock, settings
    )
    return create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        schema=build_schema(),
        on_startup=[repo.ensure_indexes, cache.invalidate],
    )
