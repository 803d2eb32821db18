"""SLA gates over a run's per-request figures."""

from __future__ import annotations

from loadtests.gates import OUTCOME_TYPE, OperationStats, evaluate
from loadtests.scenario import Gates

GATES = Gates(max_failure_ratio=0.05, p95_ms={"*": 500, "gql CreateOrder": 1500}, min_requests=10)


def op(name: str, requests: int = 100, failures: int = 0, p95: float = 100) -> OperationStats:
    return OperationStats(name, "POST", requests, failures, p95)


def test_a_healthy_run_passes_every_gate() -> None:
    verdict = evaluate(GATES, [op("gql Products"), op("gql CreateOrder", p95=1400)])
    assert verdict.passed
    assert verdict.requests == 200


def test_too_many_failures_breach_the_failure_ratio() -> None:
    verdict = evaluate(GATES, [op("gql Products", failures=6)])
    assert [b.gate for b in verdict.breaches] == ["failure ratio"]
    assert verdict.failure_ratio == 0.06


def test_a_slow_operation_breaches_its_own_limit_not_the_default() -> None:
    verdict = evaluate(GATES, [op("gql CreateOrder", p95=1600), op("gql Product", p95=499)])
    assert [(b.subject, b.limit) for b in verdict.breaches] == [("gql CreateOrder", 1500)]


def test_saga_outcomes_count_neither_as_requests_nor_as_failures() -> None:
    outcome = OperationStats("out of stock", OUTCOME_TYPE, 50, 50, 9000)
    verdict = evaluate(GATES, [op("gql Products"), outcome])
    assert verdict.passed
    assert verdict.requests == 100


def test_a_run_that_barely_ran_fails() -> None:
    verdict = evaluate(GATES, [op("gql Products", requests=3)])
    assert [str(b) for b in verdict.breaches] == ["requests run: 3 < 10"]
