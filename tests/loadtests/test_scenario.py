"""The sale-day scenario file: parsing, validation, scaling, and users over time."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from loadtests.scenario import Scenario, load_scenario

MINIMAL = """
name = "tiny"
mix = { shopper = 1 }
[[phases]]
name = "up"
duration_s = 10
users = 10
ramp_s = 10
[[phases]]
name = "hold"
duration_s = 5
users = 10
[sale]
[[sale.products]]
sku = "SKU-1"
name = "Thing"
price = 100
stock = 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_the_sale_day_file_has_a_tenfold_spike_within_seconds() -> None:
    scenario = load_scenario("sale_day")
    spike = next(p for p in scenario.phases if p.name == "spike")
    before = scenario.phases[scenario.phases.index(spike) - 1]
    assert spike.users >= 10 * before.users
    assert spike.ramp_s <= 5


def test_the_sale_day_stock_is_below_the_accounts_that_may_buy_it() -> None:
    scenario = load_scenario("sale_day")
    assert scenario.sale.total_stock < scenario.shopper_accounts
    assert [p.name for p in scenario.phases][:2] == ["baseline", "ramp"]


def test_users_ramp_linearly_then_hold_then_the_run_ends(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, MINIMAL))
    assert [scenario.users_at(t) for t in (0, 2.5, 5, 9.9, 10, 14.9)] == [0, 2, 5, 10, 10, 10]
    assert scenario.users_at(15) is None
    assert scenario.duration_s == 15


def test_the_spawn_rate_reaches_each_ramp_in_its_own_time() -> None:
    scenario = load_scenario("sale_day")
    spike_start = sum(p.duration_s for p in scenario.phases[:2])
    users, rate = scenario.target_at(spike_start + 1) or (0, 0.0)
    assert rate == 54  # (300 - 30) users over 5 s
    assert 30 < users < 300


def test_scaling_compresses_time_and_population_but_keeps_the_shape() -> None:
    full = load_scenario("sale_day")
    short = full.scaled(time=0.1, users=0.1)
    assert short.duration_s == pytest.approx(full.duration_s * 0.1)
    assert short.peak_users == 30
    assert [p.name for p in short.phases] == [p.name for p in full.phases]


def test_scaling_shrinks_the_sale_stock_with_the_demand_but_keeps_a_unit_of_each() -> None:
    full = load_scenario("sale_day")
    stock = [p.stock for p in full.sale.products]
    assert [p.stock for p in full.scaled(time=0.5, users=0.5).sale.products] == [
        round(s / 4) for s in stock
    ]
    assert [p.stock for p in full.scaled(time=0.1, users=0.1).sale.products] == [1, 1, 1]


def test_a_compressed_spike_is_reached_within_a_second_of_its_hold() -> None:
    short = load_scenario("sale_day").scaled(time=0.1, users=0.1)
    hold_start = sum(p.duration_s for p in short.phases[:3])
    users, rate = short.target_at(hold_start + 0.1) or (0, 0.0)
    assert users == 30
    assert rate >= 30  # the 0.5 s spike ramp ends between two ticks of the shape


def test_a_ramp_longer_than_its_phase_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("ramp_s = 10", "ramp_s = 11")
    with pytest.raises(ValidationError, match="ramp_s must not exceed duration_s"):
        load_scenario(write(tmp_path, text))


def test_an_unknown_key_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="spwan"):
        load_scenario(write(tmp_path, MINIMAL + "\nspwan = 3\n"))


def test_a_funnel_that_widens_is_refused() -> None:
    data = load_scenario("sale_day").model_dump()
    data["funnel"] = {"browse": 5, "cart": 10, "checkout": 3}
    with pytest.raises(ValidationError, match="a funnel narrows"):
        Scenario.model_validate(data)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not valid TOML"):
        load_scenario(write(tmp_path, "name = "))
