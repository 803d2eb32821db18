"""The twin's step kinds: awaited branches overlap, a failed branch fails its handler, and a
choice takes each shape by its share."""

from __future__ import annotations

import pytest

from sim.model import (
    Call,
    Choice,
    Config,
    Cpu,
    Demand,
    Deployment,
    LoadGenerator,
    OpenWorkload,
    Operation,
    Parallel,
    Result,
    Store,
    WhatIf,
    run,
)


def _run(operation: Operation, **what_if: object) -> Result:
    return run(
        Config(
            {operation.name: operation},
            OpenWorkload(rate=1.0, mix={operation.name: 1.0}),
            horizon_s=200.0,
            what_if=WhatIf(**what_if),  # type: ignore[arg-type]
            seed=11,
        )
    )


def _wait(seconds: float) -> tuple[Store, ...]:
    return (Store("mongo", Demand(seconds, "const")),)


def test_parallel_branches_are_awaited_together_so_the_slowest_sets_the_time() -> None:
    result = _run(Operation("q", "s", (Parallel((_wait(0.1), _wait(0.2))),)))
    assert result.ok.all()
    assert result.latency == pytest.approx(0.2)


def test_a_failed_branch_fails_the_handler_but_an_optional_call_only_degrades_it() -> None:
    down = Call("category", (Cpu(Demand(0.001)),))
    optional = Call("category", (Cpu(Demand(0.001)),), optional=True)
    failed = _run(Operation("q", "s", (Parallel((_wait(0.1), (down,))),)), down=("category",))
    degraded = _run(Operation("q", "s", (optional, *_wait(0.1))), down=("category",))
    assert not failed.ok.any()
    assert degraded.ok.all()


def test_a_choice_takes_each_shape_by_its_share() -> None:
    shapes = Choice(((3.0, _wait(0.1)), (1.0, _wait(0.3))))
    result = _run(Operation("q", "s", (shapes,)))
    slow_share = (result.latency > 0.2).mean()
    assert slow_share == pytest.approx(0.25, abs=0.08)


def _loaded(rate: float, generator: LoadGenerator | None, cores: int | None = None) -> Result:
    operation = Operation("q", "s", (Cpu(Demand(0.002, "const")),))
    return run(
        Config(
            {"q": operation},
            OpenWorkload(rate=rate, mix={"q": 1.0}),
            horizon_s=200.0,
            deployment=Deployment(cores=cores),
            load_generator=generator,
            seed=11,
        )
    )


def test_the_load_generators_cpu_is_in_the_latency_it_measures() -> None:
    # One request a second: the rare overlap of two does not move the median.
    alone = _loaded(1.0, None)
    measured = _loaded(1.0, LoadGenerator(Demand(0.010, "const")))
    assert alone.percentile(50) == pytest.approx(0.002)
    assert measured.percentile(50) == pytest.approx(0.012)


def test_a_load_generator_on_the_same_core_takes_it_from_the_service() -> None:
    # 60 req/s: the generator's loop is 60% busy and the service's 12%; on one shared core
    # they queue behind each other, on cores of their own they do not.
    generator = LoadGenerator(Demand(0.010, "const"))
    apart = _loaded(60.0, generator, cores=2)
    shared = _loaded(60.0, generator, cores=1)
    assert shared.latency.mean() > 1.2 * apart.latency.mean()
    assert apart.utilisation()["s"] == pytest.approx(60 * 0.002, rel=0.05)


def test_a_handler_in_turns_lets_another_task_on_its_loop_run_between_them() -> None:
    # One loop: a long computation beside a short one that then calls another service. In one
    # turn the long one keeps the loop 100 ms before the short one starts; in ten turns the
    # short one gets in after the first, and its call overlaps the rest.
    def shape(turns: int) -> Operation:
        long = (Cpu(Demand(0.100, "const"), turns=turns),)
        short = (Cpu(Demand(0.001, "const")), Call("other", (Cpu(Demand(0.050, "const")),)))
        return Operation("q", "s", (Parallel((long, short)),))

    assert _run(shape(1)).percentile(50) == pytest.approx(0.151)
    assert _run(shape(10)).percentile(50) == pytest.approx(0.101)
    # Turns share the same CPU out: alone, a request takes as long either way.
    alone = Operation("q", "s", (Cpu(Demand(0.010, "const"), turns=5),))
    assert _run(alone).percentile(50) == pytest.approx(0.010)
