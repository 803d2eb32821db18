"""Coupon service app: wires the repository, use cases, event consumer and subgraph."""

from __future__ import annotations

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.events.catalog import UserRegistered
from estore.kit.infra import Infra
from estore.services.coupon import routes
from estore.services.coupon.events import on_user_registered
from estore.services.coupon.repository import CouponRepository
from estore.services.coupon.schema import build_schema
from estore.services.coupon.service import CouponService
from estore.services.coupon.settings import CouponSettings


def create_app(infra: Infra[CouponSettings]) -> FastAPI:
    settings = infra.settings
    repo = CouponRepository(infra.db)
    service = CouponService(repo, infra.clock, settings)
    infra.bus.subscribe(UserRegistered.NAME, on_user_registered(service))
    return create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        schema=build_schema(),
        on_startup=[repo.ensure_indexes],
    )
