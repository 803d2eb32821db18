"""The twin over the committed calibration: the sale day runs, per seed the same, and the
breakers keep browsing up when a service a product page needs is down."""

from __future__ import annotations

import numpy as np

from loadtests.scenario import load_scenario
from sim.model import WhatIf, run
from sim.twin import config, load_calibration

CALIBRATION = load_calibration("served")
SMALL = load_scenario("sale_day").scaled(time=0.1, users=0.1)


def test_a_scaled_sale_day_is_the_same_run_for_the_same_seed() -> None:
    first = run(config(SMALL, CALIBRATION, seed=1))
    again = run(config(SMALL, CALIBRATION, seed=1))
    other = run(config(SMALL, CALIBRATION, seed=2))
    assert len(first.latency) > 50
    assert np.array_equal(first.latency, again.latency)
    assert not np.array_equal(first.latency, other.latency)


def test_every_role_sends_its_operations() -> None:
    result = run(config(SMALL.scaled(users=3), CALIBRATION, seed=3))
    sent = {name for name in result.names if result.of(name).any()}
    assert {"gql Products", "gql Product", "gql Login", "gql CartCheck"} <= sent


def test_with_category_down_catalog_pages_still_serve_and_product_pages_fail() -> None:
    result = run(
        config(
            SMALL, CALIBRATION, seed=4, instances={"gateway": 1}, what_if=WhatIf(down=("category",))
        )
    )
    catalog, page = result.of("gql Products"), result.of("gql Product")
    assert result.ok[catalog].all()
    assert not result.ok[page].any()
    assert result.breaker_opens >= 1


def test_a_slower_payment_processor_slows_checkout_only() -> None:
    deployed = {"gateway": 1}
    base = run(config(SMALL, CALIBRATION, seed=5, instances=deployed))
    slow = run(
        config(
            SMALL, CALIBRATION, seed=5, instances=deployed, what_if=WhatIf(slower={"payment": 50.0})
        )
    )
    assert slow.percentile(50, "gql CreateOrder") > base.percentile(50, "gql CreateOrder")
