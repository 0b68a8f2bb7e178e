"""schemathesis over a live OpenAPI spec: every operation, positive or negative cases, the same checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: No 5xx, and every answer's status code, content type and body as the spec documents them.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz_operations(operations: Iterable[Any], mode: schemathesis.GenerationMode, max_examples: int) -> None:
    """Run `max_examples` generated cases against each operation; hypothesis raises on the first failed check."""
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        call()
