"""Events of the category service: none yet; readers see changes through the cache version."""

from __future__ import annotations
