"""The twin's clients behave as the kit's: a deadline bounds a call, a breaker opens on
repeated failures, and the numbers are the services' own settings."""

from __future__ import annotations

import pytest

from estore.gateway.settings import GatewaySettings
from estore.kit.clients.policy import BreakerPolicy
from sim.model import Call, Config, Cpu, Demand, OpenWorkload, Operation, WhatIf, run
from sim.resilience import Resilience


def _one(operation: Operation, rate: float = 1.0, **what_if: object) -> Config:
    return Config(
        {operation.name: operation},
        OpenWorkload(rate=rate, mix={operation.name: 1.0}),
        horizon_s=60.0,
        what_if=WhatIf(**what_if),  # type: ignore[arg-type]
        seed=5,
    )


def test_resilience_reads_the_gateway_deadline_and_the_kit_breaker() -> None:
    resilience = Resilience.from_settings()
    assert resilience.deadline_for("gateway", "product") == (
        GatewaySettings().gateway_subgraph_deadline_seconds
    )
    assert resilience.breaker == BreakerPolicy()


def test_a_hung_dependency_fails_the_call_at_the_gateway_deadline() -> None:
    hung = Call("product", (Cpu(Demand(30.0, "const")),))
    result = run(_one(Operation("q", "gateway", (Cpu(Demand(0.001, "const")), hung)), rate=0.2))
    deadline = Resilience.from_settings().subgraph_deadline_s
    assert not result.ok.any()
    assert result.latency.max() == pytest.approx(0.001 + deadline, abs=1e-6)


def test_a_dependency_that_is_down_opens_the_breaker_and_failures_come_fast() -> None:
    down = Call("category", (Cpu(Demand(0.001)),))
    result = run(_one(Operation("q", "gateway", (down,)), rate=5.0, down=("category",)))
    assert result.breaker_opens >= 1
    assert not result.ok.any()
    # Open, the breaker refuses at once: most requests never wait for a backoff.
    assert (result.latency == 0).mean() > 0.5


def test_a_hung_dependency_goes_on_computing_after_its_caller_gave_up() -> None:
    hung = Call("product", (Cpu(Demand(30.0, "const")),))
    result = run(_one(Operation("q", "gateway", (hung,)), rate=0.2))
    # The caller left at its deadline; the server still ran the first handler to its end
    # (30 s of the 60 s horizon; the next one ends after it).
    assert not result.ok.any()
    assert result.latency.max() < 10.0
    assert result.utilisation()["product"] == pytest.approx(0.5)
