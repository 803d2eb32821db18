"""What every fuzzed response must satisfy: no 5xx, documented codes, documented shapes."""

from __future__ import annotations

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded so the whole suite stays under two minutes on two cores.
MAX_EXAMPLES = 6
