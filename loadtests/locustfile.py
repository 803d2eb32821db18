"""Locust entry point for the sale day: visitors, the scenario's shape, gates and metrics.

Run through `python -m loadtests.run`, which serves and stages the cluster and sets the
environment this file reads (see loadtests/README.md).
"""

from __future__ import annotations

from loadtests import hooks
from loadtests.shape import SaleDayShape
from loadtests.users import Admin, Browser, Shopper, SupportSeeker

__all__ = ["Admin", "Browser", "SaleDayShape", "Shopper", "SupportSeeker"]

# Locust discovers users, shape and listeners by importing this file: registering the
# listeners is this module's one job.
hooks.register()
