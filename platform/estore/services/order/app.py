"""Order service app: wires the repository, the saga runner and its peers into the kit's app."""

from __future__ import annotations

import socket

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.infra import Infra
from estore.services.order import routes
from estore.services.order.context import Checkpoint, Peers, SagaContext, no_checkpoint
from estore.services.order.peers import CouponPeer, PaymentPeer, ProductPeer
from estore.services.order.recovery import SagaRunner
from estore.services.order.repository import OrderRepository
from estore.services.order.schema import build_schema
from estore.services.order.service import OrderService
from estore.services.order.settings import OrderSettings


def build_service(infra: Infra, checkpoint: Checkpoint = no_checkpoint) -> OrderService:
    """The use cases over `infra`; `checkpoint` lets tests stop a saga at any point."""
    settings = infra.settings
    assert isinstance(settings, OrderSettings)
    settings.require_secrets("payment_secret_key")
    assert settings.payment_secret_key is not None
    repo = OrderRepository(infra.db)
    peers = Peers(
        product=ProductPeer(infra.clients["product"]),
        coupon=CouponPeer(infra.clients["coupon"]),
        payment=PaymentPeer(
            infra.clients["payment"],
            settings.payment_deadline_seconds,
            settings.payment_secret_key.get_secret_value(),
        ),
    )
    ctx = SagaContext(
        repo=repo,
        peers=peers,
        bus=infra.bus,
        clock=infra.clock,
        settings=settings,
        identity=infra.internal_identity,
        owner=settings.instance_id or f"order@{socket.gethostname()}",
        checkpoint=checkpoint,
    )
    return OrderService(repo, SagaRunner(ctx), settings)


def create_app(infra: Infra) -> FastAPI:
    service = build_service(infra)
    repo = service.runner.ctx.repo
    return create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        schema=build_schema(),
        on_startup=[repo.ensure_indexes, service.runner.start],
        on_shutdown=[service.runner.stop],
    )
