"""One seed, one history: byte for byte, whatever the hash seed or the order runs happen in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.campaign import run_campaign, schedule_seeds
from chaos.run import RunResult, run
from chaos.schedule import generate

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (3, 11)


@pytest.fixture(scope="module")
def runs() -> dict[int, RunResult]:
    return {seed: run(generate(seed)) for seed in SEEDS}


def test_the_same_seed_replays_the_same_history_byte_for_byte(runs: dict[int, RunResult]) -> None:
    again = run(generate(SEEDS[0]))

    assert again.history.text() == runs[SEEDS[0]].history.text()
    assert again.digest == runs[SEEDS[0]].digest


def test_a_schedule_played_in_a_forked_campaign_writes_its_replays_history() -> None:
    seeds = schedule_seeds(8, 3)

    campaign = run_campaign(seeds, jobs=2)

    assert campaign.digests == [run(generate(seed)).digest for seed in seeds]


def test_a_different_seed_gives_a_different_history(runs: dict[int, RunResult]) -> None:
    assert runs[SEEDS[0]].digest != runs[SEEDS[1]].digest


def test_the_history_does_not_depend_on_the_hash_seed(runs: dict[int, RunResult]) -> None:
    """Another process with another PYTHONHASHSEED writes the same bytes."""
    here = runs[SEEDS[0]].digest
    script = (
        "from chaos.run import quiet_logs, run\n"
        "from chaos.schedule import generate\n"
        f"quiet_logs(); print(run(generate({SEEDS[0]})).digest)\n"
    )
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
    }
    there = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert there.stdout.strip().splitlines()[-1] == here


def test_the_history_records_calls_answers_faults_and_the_end_state(
    runs: dict[int, RunResult],
) -> None:
    result = runs[SEEDS[0]]
    events = {line.split('"event":"')[1].split('"')[0] for line in result.history.lines}

    assert {"seeded", "call", "answer", "quiesce", "final_product", "final_order"} <= events
