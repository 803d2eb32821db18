"""Ticket service app: REST under /api/v1 and the live chat WebSocket, not federated."""

from __future__ import annotations

from fastapi import FastAPI

from estore.kit.app import create_service_app
from estore.kit.infra import Infra
from estore.services.ticket import chat_socket, routes
from estore.services.ticket.chat import ChatHub
from estore.services.ticket.peers import OrderPeer
from estore.services.ticket.repository import TicketRepository
from estore.services.ticket.service import TicketService
from estore.services.ticket.settings import TicketSettings


def create_app(infra: Infra[TicketSettings]) -> FastAPI:
    settings = infra.settings
    repo = TicketRepository(infra.db)
    hub = ChatHub(infra.bus, settings.ws_send_queue)
    service = TicketService(
        repo,
        OrderPeer(infra.clients["order"], infra.internal_identity),
        hub.publish,
        infra.clock,
        settings,
    )
    app = create_service_app(
        infra,
        service=service,
        routers=[routes.router],
        root_routers=[chat_socket.router],
        schema=None,
        on_startup=[repo.ensure_indexes],
        on_shutdown=[hub.close],
    )
    app.state.chat = chat_socket.ChatContext(
        service=service,
        hub=hub,
        authenticator=infra.authenticator,
        clock=infra.clock,
        settings=settings,
    )
    return app
