"""Product service settings: reservation lifetimes, the sweeper's pace and page sizes."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from estore.kit.settings import ServiceSettings
from estore.services.product.models import MAX_RESERVATION_TTL_SECONDS


class ProductSettings(ServiceSettings):
    service: ClassVar[str] = "product"

    reservation_ttl_seconds: int = 900
    reservation_max_ttl_seconds: Annotated[int, Field(le=MAX_RESERVATION_TTL_SECONDS)] = (
        MAX_RESERVATION_TTL_SECONDS
    )
    # How often the sweeper looks for holds past their time; 0 turns the loop off (tests).
    sweep_interval_seconds: float = 5.0
    # A reservation left half-settled (a crash between its steps) is finished after this long.
    settle_grace_seconds: float = 30.0
    page_default: int = 20
    page_max: int = 100
    batch_max_ids: int = 200
