"""The sale-day scenario as a Locust load shape: users and spawn rate from the scenario file."""

from __future__ import annotations

from locust import LoadTestShape

from loadtests import config


class SaleDayShape(LoadTestShape):
    """Ticks through the scenario's phases; the run ends with the last phase."""

    def tick(self) -> tuple[int, float] | None:
        return config.current().scenario.target_at(self.get_run_time())
