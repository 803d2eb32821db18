"""Product service app: wires the repository, category client and sweeper into the kit's app."""

from __future__ import annotations

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.infra import Infra
from estore.services.product import events, routes
from estore.services.product.peers import CategoryPeer
from estore.services.product.repository import ProductRepository
from estore.services.product.schema import build_schema
from estore.services.product.service import ProductService
from estore.services.product.settings import ProductSettings


def create_app(infra: Infra[ProductSettings]) -> FastAPI:
    settings = infra.settings
    repo = ProductRepository(infra.db)
    service = ProductService(repo, CategoryPeer(infra.clients["category"]), infra.clock, settings)
    events.subscribe(infra.bus, service)
    return create_service_app(
        infra,
        service=service,
        routers=[routes.router, routes.reservations],
        root_routers=[routes.aliases],
        schema=build_schema(),
        on_startup=[repo.ensure_indexes, service.reservations.start_sweeper],
        on_shutdown=[service.reservations.stop_sweeper],
    )
