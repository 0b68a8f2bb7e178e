"""The data API contract, the client's resilience and the in-process source, against real servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tasador.configs import ClientOptions, DatasourceConfig
from tasador.data_api.feeds import CsvFeed, build_feed
from tasador.ingest import make_source
from tasador.ingest.batch import SourceExhausted, SourceUnavailable
from tasador.ingest.client import HttpSource
from tasador.ingest.inprocess import InProcessSource
from tasador.settings import Settings
from tests.support.data_api import RunningServer, stop
from tests.support.waiting import free_port

SMALL = ("--scenario", "inflation", "--seed", "7", "--batch-size", "50", "--batches", "3")


@pytest.fixture
def config() -> DatasourceConfig:
    return Settings().configs.datasource


@pytest.fixture
def client_options(config: DatasourceConfig) -> ClientOptions:
    # Same retry logic as configured, with delays short enough for a test.
    changed = {"retries": 2, "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "connect_timeout_s": 2}
    return config.client.model_copy(update=changed)


@pytest.fixture(scope="module")
def small_api(data_api) -> RunningServer:
    """One server shared by the tests below; each test uses its own group numbers."""
    return data_api(*SMALL)


def fetch_all(source: HttpSource | InProcessSource, group: int) -> list[tuple[int, list[dict[str, Any]]]]:
    batches, last = [], 0
    while True:
        try:
            batch = source.next_batch(group, last)
        except SourceExhausted:
            return batches
        batches.append((batch.batch_number, batch.rows))
        last = batch.batch_number


def test_two_servers_with_one_config_hand_out_the_same_batches(small_api, data_api, client_options) -> None:
    second = data_api(*SMALL)
    with HttpSource(small_api.url, client_options) as a, HttpSource(second.url, client_options) as b:
        from_first, from_second = fetch_all(a, 3), fetch_all(b, 3)
    assert [n for n, _ in from_first] == [1, 2, 3]
    assert from_first == from_second
    assert all(len(rows) == 50 for _, rows in from_first)
    assert from_first[0][1] != from_first[1][1]


def test_exhausted_group_gets_400_and_restart_starts_over(small_api, client_options) -> None:
    server = small_api
    with HttpSource(server.url, client_options) as source:
        batches = fetch_all(source, 1)
        raw = httpx.get(f"{server.url}/data", params={"group_number": 1})
        assert raw.status_code == 400
        assert "restart_data_generation" in raw.json()["detail"]
        with pytest.raises(SourceExhausted):
            source.next_batch(1, 3)
        source.restart(1)
        again = source.next_batch(1, 0)
    assert len(batches) == 3
    assert (again.batch_number, again.rows) == batches[0]


def test_groups_have_their_own_position_and_data(small_api, client_options) -> None:
    with HttpSource(small_api.url, client_options) as source:
        one = source.next_batch(11, 0)
        source.next_batch(11, 1)
        two = source.next_batch(12, 0)
    assert two.batch_number == 1
    assert two.rows != one.rows


@pytest.mark.slow  # two cold server starts
def test_position_is_kept_across_a_server_restart(data_api, client_options, config, tmp_path: Path) -> None:
    state = tmp_path / "kept"
    server = data_api(*SMALL, state_dir=state)
    with HttpSource(server.url, client_options) as source:
        source.next_batch(1, 0)
        source.next_batch(1, 1)
    stop(server)
    restarted = data_api(*SMALL, state_dir=state)
    with HttpSource(restarted.url, client_options) as source:
        third = source.next_batch(1, 0)
    expected = InProcessSource(build_feed(config, scenario="inflation", seed=7, batch_size=50, batches=3))
    assert (third.batch_number, third.rows) == (3, expected.next_batch(1, 2).rows)


def test_in_process_source_gives_the_servers_rows(small_api, client_options, config) -> None:
    feed = build_feed(config, scenario="inflation", seed=7, batch_size=50, batches=3)
    with HttpSource(small_api.url, client_options) as source:
        over_http = fetch_all(source, 4)
    assert fetch_all(InProcessSource(feed), 4) == over_http


def test_messy_feed_reaches_the_client_as_sent_and_in_process_alike(data_api, client_options, config) -> None:
    server = data_api("--seed", "3", "--batch-size", "400", "--batches", "1", "--messy")
    with HttpSource(server.url, client_options) as source:
        rows = source.next_batch(1, 0).rows
    states = {row["state"] for row in rows}
    assert any(s.islower() for s in states) and any(s.istitle() for s in states)
    assert any(isinstance(row["price"], str) for row in rows)
    assert any(isinstance(row["zip_code"], str) and len(row["zip_code"]) == 5 for row in rows)
    assert any("listing_id" in row for row in rows)
    feed = build_feed(config, seed=3, batch_size=400, batches=1, messy=True)
    assert InProcessSource(feed).next_batch(1, 0).rows == rows


def test_client_retries_through_transient_failures(data_api, client_options) -> None:
    server = data_api(*SMALL, "--fail-first", "3")
    with (
        HttpSource(server.url, client_options.model_copy(update={"retries": 1})) as impatient,
        pytest.raises(SourceUnavailable) as error,
    ):
        impatient.next_batch(1, 0)  # two attempts, two 503s
    assert "503" in str(error.value) and "2 attempts" in str(error.value)
    with HttpSource(
        server.url, client_options.model_copy(update={"retries": 2})
    ) as patient:  # one more 503, then through
        batch = patient.next_batch(1, 0)
    assert batch.batch_number == 1 and len(batch.rows) == 50


def test_a_server_slower_than_the_read_timeout_is_retried_then_named(data_api, client_options) -> None:
    server = data_api(*SMALL, "--slow-first", "2", "--slow-s", "5")
    options = client_options.model_copy(update={"read_timeout_s": 0.5, "retries": 1})
    with HttpSource(server.url, options) as source:
        with pytest.raises(SourceUnavailable) as error:
            source.next_batch(1, 0)  # two attempts, both still waiting when the client gives up
        message = str(error.value)
        assert "ReadTimeout" in message and "2 attempts" in message and server.url in message
        batch = source.next_batch(1, 0)  # the server is quick again
    # The slow answers still handed batches 1 and 2 out (as a real server busy building them does):
    # the client sees the gap in the batch numbers, and so does RAW.
    assert batch.batch_number == 3 and len(batch.rows) == 50


def test_server_that_is_down_names_its_url(client_options) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with HttpSource(url, client_options) as source, pytest.raises(SourceUnavailable) as error:
        source.next_batch(1, 0)
    assert url in str(error.value)
    assert "datasource serve" in str(error.value)


@pytest.mark.parametrize(
    ("body", "says"),
    [("<html>not json</html>", "not JSON"), (json.dumps({"group_number": 1, "rows": []}), "without a `data` list")],
)
def test_garbage_answers_are_clear_errors(static_server, client_options, body: str, says: str) -> None:
    server = static_server(body)
    with HttpSource(server.url, client_options) as source, pytest.raises(SourceUnavailable) as error:
        source.next_batch(1, 0)
    assert says in str(error.value)
    assert server.url in str(error.value)


def test_group_numbers_are_bounded_and_requests_small(small_api, client_options, config) -> None:
    server = small_api
    too_big = config.server.max_group_number + 1
    with HttpSource(server.url, client_options) as source, pytest.raises(SourceUnavailable) as error:
        source.next_batch(too_big, 0)
    assert "HTTP 422" in str(error.value)
    long_query = httpx.get(f"{server.url}/data", params={"group_number": 21, "day": "x" * 10_000})
    assert long_query.status_code == 413
    assert httpx.get(f"{server.url}/data", params={"group_number": 21}).json()["batch_number"] == 1


def test_server_serves_a_csv_in_file_order(data_api, client_options, sample_csv: Path) -> None:
    server = data_api("--csv", str(sample_csv), "--batch-size", "1000")
    with HttpSource(server.url, client_options) as source:
        first, second = source.next_batch(1, 0), source.next_batch(1, 1)
    expected = pd.read_csv(sample_csv, nrows=2000)
    assert [r["street"] for r in first.rows + second.rows] == [None if pd.isna(v) else v for v in expected["street"]]
    assert first.rows[1]["bed"] is None  # an empty cell arrives as null
    assert first.rows[0]["zip_code"] == 27253.0
    in_process = InProcessSource(CsvFeed(sample_csv, batch_size=1000))
    assert in_process.next_batch(1, 1).rows == second.rows
    assert in_process.name == "csv:realtor-data.csv"


def test_make_source_follows_the_settings(small_api, config) -> None:
    over_http = make_source(Settings(source="http", data_api_url=small_api.url + "/"), config)
    assert over_http.name == small_api.url
    assert over_http.next_batch(31, 0).batch_number == 1
    in_process = make_source(Settings(source="inprocess"), config)
    assert in_process.name == f"synthetic:{config.generator.scenario}:{config.generator.seed}"
    assert in_process.next_batch(1, 0).batch_number == 1
