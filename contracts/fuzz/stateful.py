"""Stateful schemathesis runs: follow a service's OpenAPI links from a created resource.

Hypothesis builds call sequences (open, then read, write, change...) from the links the
service declares; every response passes schemathesis's checks, stateful ones included
(a resource that was created must then be found, and so on).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import Case, Response

from contracts.fuzz.runner import CALL_TIMEOUT_SECONDS, openapi_of
from contracts.harness.inprocess import ClusterApp

# Bounded: a scenario is a few linked calls, and a few scenarios per flow.
SCENARIOS = 12
STEPS = 6
Prepare = Callable[[Any, Case, dict[str, str]], None]


def run_flow(app: ClusterApp, tag: str, prepare: Prepare | None = None) -> Counter[str]:
    """Run linked scenarios over the operations tagged `tag`; raises what schemathesis found.

    Returns how often each operation ran ("POST /api/v1/tickets": 19, ...), so a test can
    tell that the links were followed and not only the entry point called.

    `prepare(schema, case, headers)` may adjust a case before it is sent (to point it at
    data that exists). Shrinking is off: with it on, a failure that does not replay exactly
    is reported only as "flaky strategy", hiding the real one.
    """
    schema = openapi_of(app).include(tag=tag)
    headers = app.caller_header()
    called: Counter[str] = Counter()
    # Hypothesis replays a failing scenario on stores the first run changed; when the replay
    # differs it reports only "flaky", so the first failure is kept here to be reported.
    found: list[str] = []

    class Flow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            called[case.operation.label] += 1
            if prepare is not None:
                prepare(schema, case, headers)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": headers, "timeout": CALL_TIMEOUT_SECONDS}

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except BaseException as exc:
                found.append(f"{case.operation.label}: {exc}")
                raise

    try:
        run_state_machine_as_test(
            Flow,
            settings=settings(
                max_examples=SCENARIOS,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            ),
        )
    except Exception as exc:
        if found:
            raise AssertionError(f"{tag} flow failed first at {found[0]}") from exc
        raise
    return called
