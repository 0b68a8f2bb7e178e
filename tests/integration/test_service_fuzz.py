"""The service over a local (SQL) MLflow store, one worker: schemathesis against its live OpenAPI spec
(whatever it sends, never a 5xx, and every answer is one the spec documents), and a steady alias."""

from __future__ import annotations

import time

import httpx
import pytest
import schemathesis

from tests.support.fuzzing import fuzz_operations
from tests.support.processes import Process
from tests.support.service import WATCH_INTERVAL_S

MAX_EXAMPLES = 25  # per operation and mode: keeps the run well under a minute
OUR_ROUTES = r"^/(predict|explain|model|health|ready)$"


@pytest.fixture(scope="module")
def live_schema(local_service: Process) -> schemathesis.BaseSchema:
    # The API's own spec (OpenAPI 3.1, served by the mounted FastAPI app). BentoML's /docs.json merges
    # the same paths into a document labelled 3.0.2, which the 3.1 schemas (`type: null`) do not fit.
    schema = schemathesis.openapi.from_url(local_service.url + "/openapi.json")
    schema.config.update(base_url=local_service.url)
    return schema.include(path_regex=OUR_ROUTES)


# schemathesis' pytest integration (`from_fixture`) relies on a pytest internal that pytest 9 removed,
# so each operation's Hypothesis strategy is driven here directly.
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_server_errors_and_documented_answers(
    live_schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode
) -> None:
    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert {op.path for op in operations} == {"/predict", "/explain", "/model", "/health", "/ready"}
    if mode == schemathesis.GenerationMode.NEGATIVE:
        operations = [op for op in operations if op.method.upper() == "POST"]  # the GETs take no input
    fuzz_operations(operations, mode, MAX_EXAMPLES)


def test_a_model_is_not_reloaded_while_the_alias_stays(local_service: Process) -> None:
    # A SQL store reports versions as numbers, the REST API as text: both must read as "unchanged".
    first = httpx.get(local_service.url + "/model").json()["loaded_at"]
    time.sleep(3 * WATCH_INTERVAL_S)
    assert httpx.get(local_service.url + "/model").json()["loaded_at"] == first
