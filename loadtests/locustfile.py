"""Locust entry point for the sale day: visitors, the scenario's shape, gates and invariants.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:3000 [--headless] [--scenario NAME]

against any running cluster: the master (or a standalone runner) stages the sale through the
public API as an admin, workers read it back (see loadtests/README.md). `python -m
loadtests.run` also serves a cluster of its own and runs this file against it.
"""

from __future__ import annotations

from loadtests import hooks
from loadtests.shape import SaleDayShape
from loadtests.users import Admin, Browser, Shopper, SupportSeeker

__all__ = ["Admin", "Browser", "SaleDayShape", "Shopper", "SupportSeeker"]

# Locust discovers users, shape and listeners by importing this file: registering the
# listeners is this module's one job.
hooks.register()
