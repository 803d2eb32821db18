"""SLA gates: judge a run's per-request figures against the scenario's limits.

Pure: the Locust hook turns its stats into `OperationStats`; tests build them by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loadtests.scenario import Gates

# Saga outcomes ride on Locust's request events (so they sit next to the HTTP figures in
# every report), but they are business results, not requests: gates leave them out.
OUTCOME_TYPE = "SAGA"


@dataclass(frozen=True)
class OperationStats:
    name: str
    method: str
    requests: int
    failures: int
    p95_ms: float


@dataclass(frozen=True)
class Breach:
    gate: str
    subject: str
    limit: float
    actual: float
    minimum: bool = False

    def __str__(self) -> str:
        sign = "<" if self.minimum else ">"
        return f"{self.gate} {self.subject}: {self.actual:g} {sign} {self.limit:g}"


@dataclass
class Verdict:
    requests: int
    failures: int
    failure_ratio: float
    breaches: list[Breach] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.breaches

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "requests": self.requests,
            "failures": self.failures,
            "failure_ratio": self.failure_ratio,
            "breaches": [asdict(b) | {"text": str(b)} for b in self.breaches],
        }


def evaluate(gates: Gates, operations: list[OperationStats]) -> Verdict:
    """Every breach of the failure ratio, the p95 limits and the minimum request count."""
    measured = [op for op in operations if op.method != OUTCOME_TYPE]
    requests = sum(op.requests for op in measured)
    failures = sum(op.failures for op in measured)
    ratio = failures / requests if requests else 0.0
    verdict = Verdict(requests=requests, failures=failures, failure_ratio=ratio)
    if requests < gates.min_requests:
        verdict.breaches.append(
            Breach("requests", "run", gates.min_requests, requests, minimum=True)
        )
    if ratio > gates.max_failure_ratio:
        verdict.breaches.append(Breach("failure ratio", "run", gates.max_failure_ratio, ratio))
    for op in measured:
        limit = gates.p95_ms.get(op.name, gates.p95_ms.get("*"))
        if limit is not None and op.requests and op.p95_ms > limit:
            verdict.breaches.append(Breach("p95 ms", op.name, limit, op.p95_ms))
    return verdict
