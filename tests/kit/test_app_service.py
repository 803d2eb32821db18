"""An app's use cases, typed: the accessor hands back the service or names the mismatch."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from estore.kit.app import app_service


class Orders:
    pass


class Tickets:
    pass


def test_the_app_service_comes_back_as_the_type_asked_for() -> None:
    app = FastAPI(title="estore order service")
    app.state.service = Orders()
    assert isinstance(app_service(app, Orders), Orders)
    with pytest.raises(TypeError, match="serves a Orders, not a Tickets"):
        app_service(app, Tickets)
