"""Payment processor app: served like the services (health, metrics, errors), no GraphQL."""

from __future__ import annotations

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.infra import Infra
from estore.services.payment import routes
from estore.services.payment.chaos import Chaos
from estore.services.payment.merchant import MerchantKeys
from estore.services.payment.repository import PaymentRepository
from estore.services.payment.service import PaymentService
from estore.services.payment.settings import PaymentSettings


def create_app(infra: Infra[PaymentSettings]) -> FastAPI:
    settings = infra.settings
    keys = MerchantKeys.from_settings(settings)
    repo = PaymentRepository(infra.db)
    service = PaymentService(repo, infra.clock, settings, Chaos())
    app = create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        on_startup=[repo.ensure_indexes, service.reset_behaviour],
    )
    app.state.merchant_keys = keys
    return app
