"""Calibration from the real code: each operation's call tree as its spans show it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.scenario import load_scenario
from sim.calibrate import calibrate
from sim.calibrations_check import problems
from sim.twin import load_calibration, operations

REPEATS = 3


@pytest.fixture(scope="module")
def calibration() -> dict:
    scenario = load_scenario("sale_day").model_copy(
        update={"catalog_products": 20, "shopper_accounts": 3}
    )
    return calibrate(scenario, "test", served=False, repeats=REPEATS, progress=lambda _: None)


def _services(tree: dict) -> list[list[str]]:
    return [[child["service"] for child in group] for group in tree["groups"]]


def test_a_product_page_asks_product_then_category_through_the_gateway(calibration: dict) -> None:
    tree = calibration["operations"]["gql Product"]["shapes"][0]["tree"]
    assert tree["service"] == "gateway"
    assert _services(tree) == [["product"], ["category"]]


def test_checkout_runs_the_saga_through_order_to_product_and_payment(calibration: dict) -> None:
    shapes = calibration["operations"]["gql CreateOrder"]["shapes"]
    order = shapes[0]["tree"]["groups"][0][0]
    called = {s for group in _services(order) for s in group}
    assert order["service"] == "order"
    assert {"product", "payment"} <= called


def test_every_operation_has_its_samples_and_cpu_times(calibration: dict) -> None:
    assert problems(calibration) == []
    for measured in calibration["operations"].values():
        assert measured["samples"] == REPEATS
        assert sum(s["samples"] for s in measured["shapes"]) == REPEATS
    assert calibration["machine"]["cpus"] >= 1
    assert len(calibration["commit"]) == 40


def test_the_gateway_gives_its_loop_up_between_the_turns_of_a_request(calibration: dict) -> None:
    # A sample whose call tree differed (a cache warmed mid-run) is a shape of its own.
    shape = calibration["operations"]["gql Product"]["shapes"][0]
    tree = shape["tree"]
    assert len(tree["turns"]) == len(tree["cpu_us"])
    assert all(len(counts) == shape["samples"] for counts in tree["turns"])
    # It awaits each subgraph's answer, so the segments after the calls take turns of their own.
    assert all(min(counts) >= 1 for counts in tree["turns"][1:])


def test_the_checker_catches_a_negative_or_missing_cpu_time(calibration: dict) -> None:
    broken = json.loads(json.dumps(calibration))
    tree = broken["operations"]["gql Products"]["shapes"][0]["tree"]
    tree["cpu_us"][0] = [-1.0] * REPEATS
    broken["operations"]["gql Search"]["shapes"][0]["tree"]["cpu_us"][0] = []
    broken["operations"]["gql Login"]["shapes"][0]["tree"]["turns"].pop()
    found = problems(broken)
    assert any("gql Products" in p for p in found)
    assert any("gql Search" in p for p in found)
    assert any("gql Login" in p and "turns" in p for p in found)


def test_a_written_calibration_builds_every_operation(calibration: dict, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(calibration))
    built = operations(load_calibration(path), redis_computes=True)
    assert set(built) == set(calibration["operations"])
    assert built["gql Product"].service == "gateway"


def test_the_committed_calibration_is_sound() -> None:
    committed = load_calibration("served")
    assert problems(committed) == []
    assert committed["mode"] == "served"
