"""Product service settings: reservation lifetimes, the sweeper's pace and page sizes."""

from __future__ import annotations

from typing import ClassVar

from estore.kit.settings import ServiceSettings


class ProductSettings(ServiceSettings):
    service: ClassVar[str] = "product"

    reservation_ttl_seconds: int = 900
    reservation_max_ttl_seconds: int = 24 * 3600
    # How often the sweeper looks for holds past their time; 0 turns the loop off (tests).
    sweep_interval_seconds: float = 5.0
    # A reservation left half-settled (a crash between its steps) is finished after this long.
    settle_grace_seconds: float = 30.0
    page_default: int = 20
    page_max: int = 100
    batch_max_ids: int = 200
