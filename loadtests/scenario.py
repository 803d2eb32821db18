"""Sale-day scenarios as data: the TOML format, its validation, and users over time.

Pure Python and pydantic (no Locust), so the load shape and the simulation read the same file.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCENARIOS = Path(__file__).parent / "scenarios"
ROLES = ("browser", "shopper", "support", "admin")

Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phase(_Strict):
    """Users go linearly from the previous phase's level to `users` over `ramp_s`, then hold."""

    name: str
    duration_s: Positive
    users: Annotated[int, Field(ge=0)]
    ramp_s: Annotated[float, Field(ge=0)] = 0.0

    @model_validator(mode="after")
    def _ramp_fits(self) -> Self:
        if self.ramp_s > self.duration_s:
            raise ValueError(f"phase {self.name!r}: ramp_s must not exceed duration_s")
        return self


class Funnel(_Strict):
    """Relative rates of a shopper's browse, add-to-cart and checkout steps."""

    browse: Positive = 60
    cart: Positive = 10
    checkout: Positive = 3

    @model_validator(mode="after")
    def _narrows(self) -> Self:
        if not self.browse >= self.cart >= self.checkout:
            raise ValueError("a funnel narrows: browse >= cart >= checkout")
        return self


class ThinkTime(_Strict):
    min_s: Annotated[float, Field(ge=0)] = 1.0
    max_s: Annotated[float, Field(ge=0)] = 3.0

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_s < self.min_s:
            raise ValueError("think time max_s must be at least min_s")
        return self


class SaleProduct(_Strict):
    sku: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
    name: str
    price: Annotated[int, Field(gt=0, description="Minor units")]
    stock: Annotated[int, Field(ge=0)]


class SaleCoupon(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{3,40}$")]
    percent: Annotated[int, Field(ge=1, le=100)]
    max_redemptions: Annotated[int, Field(ge=1)]
    max_per_customer: Annotated[int, Field(ge=1)] = 1


class Sale(_Strict):
    """What is on sale, and how shoppers behave at the till."""

    products: Annotated[list[SaleProduct], Field(min_length=1)]
    coupons: list[SaleCoupon] = []
    hot_share: Share = 0.7
    coupon_share: Share = 0.4
    declined_card_share: Share = 0.05
    max_quantity: Annotated[int, Field(ge=1, le=10)] = 2

    @property
    def total_stock(self) -> int:
        return sum(p.stock for p in self.products)


class Gates(_Strict):
    """SLA gates: a run fails when any is exceeded. `p95_ms` keys are request names; `*` is
    the default for every request not named."""

    max_failure_ratio: Share = 0.01
    p95_ms: dict[str, Positive] = {}
    min_requests: Annotated[int, Field(ge=0)] = 1


class Scenario(_Strict):
    name: str
    description: str = ""
    seed: int = 0
    phases: Annotated[list[Phase], Field(min_length=1)]
    mix: dict[Literal["browser", "shopper", "support", "admin"], Annotated[int, Field(ge=0)]]
    funnel: Funnel = Funnel()
    think_time: ThinkTime = ThinkTime()
    shopper_accounts: Annotated[int, Field(ge=1)] = 50
    catalog_products: Annotated[int, Field(ge=1, description="Demo products seeded")] = 200
    sale: Sale
    gates: Gates = Gates()
    server: dict[str, Any] = {}

    @model_validator(mode="after")
    def _someone_comes(self) -> Self:
        if sum(self.mix.values()) == 0:
            raise ValueError("the user mix needs at least one positive weight")
        return self

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    @property
    def peak_users(self) -> int:
        return max(p.users for p in self.phases)

    def scaled(self, *, time: float = 1.0, users: float = 1.0) -> Scenario:
        """The same sale, compressed in time and/or population (for CI and benchmarks).

        Demand (checkouts) falls with users x time, so the sale items' stock falls with it
        (at least one unit each) and a compressed sale still sells out.
        """
        if time <= 0 or users <= 0:
            raise ValueError("scales must be positive")
        stocked = [
            p.model_copy(update={"stock": max(1, round(p.stock * time * users))}) if p.stock else p
            for p in self.sale.products
        ]
        phases = [
            p.model_copy(
                update={
                    "duration_s": p.duration_s * time,
                    "ramp_s": p.ramp_s * time,
                    "users": max(1, round(p.users * users)) if p.users else 0,
                }
            )
            for p in self.phases
        ]
        sale = self.sale.model_copy(update={"products": stocked})
        return self.model_copy(update={"phases": phases, "sale": sale})

    def users_at(self, t: float) -> int | None:
        """Target users `t` seconds into the run; None once the last phase has ended."""
        return _at(self.phases, t)[0]

    def target_at(self, t: float) -> tuple[int, float] | None:
        """Users and the spawn rate (users/s) that reaches them as the phase asks."""
        users, rate = _at(self.phases, t)
        return None if users is None else (users, rate)


def _at(phases: list[Phase], t: float) -> tuple[int | None, float]:
    start, level = 0.0, 0
    for phase in phases:
        if t < start + phase.duration_s:
            into = t - start
            step = phase.users - level
            if phase.ramp_s == 0 or into >= phase.ramp_s:
                # Holding: whoever is still missing (a ramp shorter than the shape's 1 s tick
                # ends before it is reached) comes within a second, not one a second.
                return phase.users, max(1.0, float(abs(step)), float(phase.users))
            users = level + step * into / phase.ramp_s
            rate = abs(step) / phase.ramp_s
            return round(users), max(1.0, math.ceil(rate))
        start += phase.duration_s
        level = phase.users
    return None, 0.0


def load_scenario(source: str | Path) -> Scenario:
    """Read a scenario by file path or by name under loadtests/scenarios/."""
    path = Path(source)
    if not path.suffix:
        path = SCENARIOS / f"{source}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    return Scenario.model_validate(data)
