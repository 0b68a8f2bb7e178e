"""schemathesis over every endpoint of the data API server, live: whatever it is sent, never a 5xx, and
every answer one its OpenAPI spec documents."""

from __future__ import annotations

import pytest
import schemathesis

from tests.support.data_api import RunningServer
from tests.support.fuzzing import fuzz_operations

MAX_EXAMPLES = 40  # per operation and mode: a few seconds each
ENDPOINTS = {"/data", "/restart_data_generation", "/health"}


@pytest.fixture(scope="module")
def live_schema(data_api) -> schemathesis.BaseSchema:
    # Small batches, few of them: the fuzzer exhausts groups (400) as well as reading them.
    server: RunningServer = data_api("--batch-size", "5", "--batches", "3", "--messy")
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    schema.config.update(base_url=server.url)
    return schema


# schemathesis' pytest integration (`from_fixture`) relies on a pytest internal that pytest 9 removed,
# so each operation's Hypothesis strategy is driven here directly (as in test_service_fuzz.py).
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_every_endpoint_answers_without_server_errors_as_documented(
    live_schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode
) -> None:
    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert {op.path for op in operations} == ENDPOINTS
    if mode == schemathesis.GenerationMode.NEGATIVE:
        operations = [op for op in operations if op.path != "/health"]  # it takes no input to get wrong
    fuzz_operations(operations, mode, MAX_EXAMPLES)
