"""A minute of load at the service's sustainable rate (tests/support/load.py, numbers in configs/benchmarks/load.yaml):
no request fails and every row served reaches the inference log. Timings go to BENCHMARKS.md, not here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.load import LoadTarget, hey_binary, load_load_config, parse_hey, service_for_load, sustained_load
from tests.support.service import LISTING

# A summary as hey prints it, with answers of two kinds and requests that got none.
HEY_SUMMARY = """
Summary:
  Total:\t60.0107 secs
  Requests/sec:\t9.8315

Latency distribution:
  10% in 0.0210 secs
  50% in 0.0381 secs
  99% in 0.2412 secs

Status code distribution:
  [200]\t580 responses
  [503]\t3 responses

Error distribution:
  [2]\tPost "http://127.0.0.1:3000/predict": dial tcp 127.0.0.1:3000: connect: connection refused
  [5]\tPost "http://127.0.0.1:3000/predict": context deadline exceeded (Client.Timeout exceeded)
"""


def test_hey_summary_counts_non_2xx_and_unanswered_requests_as_failed() -> None:
    report = parse_hey(HEY_SUMMARY)
    assert (report.ok, report.failed, report.requests) == (580, 10, 590)
    assert report.rps == pytest.approx(9.8315)
    assert (report.p50_ms, report.p99_ms) == (pytest.approx(38.1), pytest.approx(241.2))


@pytest.fixture
def load_target(postgres_url: str, tmp_path: Path) -> Iterator[LoadTarget]:
    if hey_binary() is None:
        pytest.skip("hey is not installed (Debian package `hey`: scripts/system-deps.sh installs it as root)")
    with service_for_load(tmp_path, postgres_url) as target:
        yield target


@pytest.mark.long
@pytest.mark.slow
def test_a_minute_at_the_sustainable_rate_fails_no_request_and_loses_no_row(
    load_target: LoadTarget, tmp_path: Path
) -> None:
    result = sustained_load(load_target, load_load_config(), LISTING, tmp_path)
    assert result.run.ok > 0, "the service answered nothing during the run"
    assert result.run.failed == 0, f"failed requests: {result.run.status_codes} {result.run.errors}"
    assert result.lost_rows == 0, f"{result.rows_served} rows served, {result.rows_logged} in the inference log"
