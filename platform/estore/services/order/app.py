"""Order service app: wires the repository, the saga runner and its peers into the kit's app."""

from __future__ import annotations

import socket
from typing import Any

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.clients import ClientRegistry
from estore.kit.clock import Clock
from estore.kit.events import EventBus
from estore.kit.identity import InternalIdentity
from estore.kit.infra import Infra
from estore.services.order import routes
from estore.services.order.context import (
    Checkpoint,
    Peers,
    SagaContext,
    SagaStore,
    no_checkpoint,
)
from estore.services.order.peers import CouponPeer, PaymentPeer, ProductPeer
from estore.services.order.recovery import SagaRunner
from estore.services.order.repository import OrderRepository
from estore.services.order.schema import build_schema
from estore.services.order.service import OrderService
from estore.services.order.settings import OrderSettings


def peers_over(clients: ClientRegistry, settings: OrderSettings, payment_key: str) -> Peers:
    """The services a checkout calls, through `clients`; `payment_key` is the merchant's."""
    return Peers(
        product=ProductPeer(clients["product"]),
        coupon=CouponPeer(clients["coupon"]),
        payment=PaymentPeer(clients["payment"], settings.payment_deadline_seconds, payment_key),
    )


def assemble_service(
    *,
    settings: OrderSettings,
    db: Any,
    peers: Peers,
    bus: EventBus,
    clock: Clock,
    identity: InternalIdentity,
    owner: str,
    checkpoint: Checkpoint = no_checkpoint,
) -> OrderService:
    """The use cases from their parts; `checkpoint` lets tests stop a saga at any point."""
    repo = OrderRepository(db)
    store = SagaStore(repo, clock, owner, settings.saga_lease_seconds)
    ctx = SagaContext(store, peers, bus, clock, settings, identity, checkpoint)
    return OrderService(repo, SagaRunner(ctx), settings, clock)


def build_service(infra: Infra[OrderSettings]) -> OrderService:
    """The use cases over `infra`."""
    settings = infra.settings
    settings.require_secrets("payment_secret_key")
    assert settings.payment_secret_key is not None
    return assemble_service(
        settings=settings,
        db=infra.db,
        peers=peers_over(infra.clients, settings, settings.payment_secret_key.get_secret_value()),
        bus=infra.bus,
        clock=infra.clock,
        identity=infra.internal_identity,
        owner=settings.instance_id or f"order@{socket.gethostname()}",
    )


def create_app(infra: Infra[OrderSettings]) -> FastAPI:
    service = build_service(infra)
    return create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        schema=build_schema(),
        on_startup=[service.ensure_indexes, service.runner.start],
        on_shutdown=[service.runner.stop],
    )
