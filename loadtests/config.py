"""What a Locust process runs: the scenario and the staged fixtures, set once per process by
the hooks (`use`), from the options of `add_options` (or the master's, on a worker)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from estore.kit.identity import Role
from loadtests.scenario import Scenario

ENV_ADMIN_EMAIL = "ESTORE_LOAD_ADMIN_EMAIL"
ENV_ADMIN_PASSWORD = "ESTORE_LOAD_ADMIN_PASSWORD"


@dataclass(frozen=True)
class LoadConfig:
    scenario: Scenario
    fixtures: dict[str, Any]
    report_dir: Path | None


_current: list[LoadConfig] = []


def use(config: LoadConfig) -> None:
    _current[:] = [config]


def current() -> LoadConfig:
    if not _current:
        raise RuntimeError("the sale is not staged in this Locust process yet")
    return _current[0]


def add_options(parser: Any) -> None:
    """Locust's own command line gains the run's options. They are read when the master stages
    the sale at start-up, so the web UI does not offer them (a change there would come late)."""
    from loadtests.stage import demo  # the demo admin; estore's seed data, read lazily

    admin = demo(Role.ADMIN)
    fixed = {"include_in_web_ui": False}
    parser.add_argument(
        "--scenario", default="sale_day", help="scenario name or TOML path", **fixed
    )
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="compress the phases", **fixed
    )
    parser.add_argument(
        "--user-scale", type=float, default=1.0, help="scale the population", **fixed
    )
    parser.add_argument(
        "--admin-email",
        default=admin["email"],
        env_var=ENV_ADMIN_EMAIL,
        help="the admin who stages the sale (default: the demo admin)",
        **fixed,
    )
    parser.add_argument(
        "--admin-password",
        default=admin["password"],
        env_var=ENV_ADMIN_PASSWORD,
        help="that admin's password (default: the demo admin's)",
        **fixed,
    )
    parser.add_argument(
        "--ticket-url",
        default="",
        help="the ticket service (not federated); support visitors come only when given",
        **fixed,
    )
    parser.add_argument(
        "--report-dir",
        default="",
        help="where gates.json and invariants.json go (default: not written)",
        **fixed,
    )
