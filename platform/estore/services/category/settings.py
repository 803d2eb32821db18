"""Category service settings: how long a cached tree may live and how deep the tree may grow."""

from __future__ import annotations

from typing import ClassVar

from estore.kit.settings import ServiceSettings


class CategorySettings(ServiceSettings):
    service: ClassVar[str] = "category"

    # Changes invalidate at once; the lifetime only bounds what a lost invalidation costs.
    cache_ttl_seconds: int = 300
    max_depth: int = 5
