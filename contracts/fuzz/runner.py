"""Run schemathesis over every operation of a service's OpenAPI, in-process, bounded.

Each operation gets its own seeded Hypothesis run; failures are gathered per operation so
one report lists every broken operation with schemathesis's reproduction (curl) text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.schemas import OpenApiSchema

from contracts.fuzz.checks import CHECKS, MAX_EXAMPLES
from contracts.harness.inprocess import ClusterApp

Headers = Callable[[], dict[str, str]]
# A call that hangs is a finding, not a reason for the suite to hang.
CALL_TIMEOUT_SECONDS = 5.0


def openapi_of(app: ClusterApp) -> OpenApiSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
    )
    return schema


def fuzz(
    schema: Any,
    headers: Headers,
    max_examples: int = MAX_EXAMPLES,
    checks: Sequence[Any] = CHECKS,
) -> list[str]:
    """Failures as "<operation>: <schemathesis report>"; empty when every check held.

    `schema` is an OpenAPI or a GraphQL schema: both yield operations and cases alike.
    """
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        )
        @given(case=operation.as_strategy())
        def run(case: Case) -> None:
            case.call_and_validate(
                headers=headers(), checks=list(checks), timeout=CALL_TIMEOUT_SECONDS
            )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports in a group
            failures.append(f"{operation.label}: {exc}")
    return failures
