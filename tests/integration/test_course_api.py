"""The course's data API as it really behaves, rehearsed by tasador's own server, through ingest, validation
and cleaning: every row the server sends reaches RAW once, in the form it came, and ends in CLEAN or in
quarantine with a reason; batches numbered from 0, time windows that repeat a batch number with other rows,
rows as arrays of text. The real 10,000-row sample is served in 5 batches of 2,000.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tasador.cleaning.stage import clean
from tasador.ingest.batch import SourceExhausted, SourceUnavailable
from tasador.ingest.client import HttpSource
from tasador.ingest.stage import next_batch, store_raw_batch
from tasador.loop.summary import finish_batch
from tasador.loop.turns import Pace, run_turns
from tasador.results import BatchSummary, Promotion, RetrainDecision, ServedCheck, ShapSummary
from tasador.schema import COLUMNS, Batch
from tasador.settings import Settings
from tasador.store import Store
from tasador.validation.stage import validate
from tests.support.data_api import RunningServer

BATCH_ROWS = 2_000
WINDOW_S = 3
REPEAT_WAIT_S = 1.0
COURSE_EXHAUSTED = "Ya se recolectó toda la información mínima necesaria"


@dataclass
class Received:
    """What the client got from the server, answer by answer, and when it asked."""

    batches: list[Batch] = field(default_factory=list)
    asked_at: list[float] = field(default_factory=list)


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Received:
    seen = Received()
    real = HttpSource.next_batch

    def recording(self: HttpSource, group_number: int, last_received: int) -> Batch:
        seen.asked_at.append(time.monotonic())
        batch = real(self, group_number, last_received)
        seen.batches.append(batch)
        return batch

    monkeypatch.setattr(HttpSource, "next_batch", recording)
    return seen


def one_turn(store: Store, settings: Settings) -> BatchSummary:
    """Fetch, keep in RAW, validate and clean one batch, and close it (the data half of the loop)."""
    batch_id = store_raw_batch(store, next_batch(store, settings))
    report = validate(store, settings, batch_id)
    cleaned = clean(store, settings, batch_id, report)
    not_run = "not run: the data half of the loop only"
    decision, promotion = RetrainDecision(skipped=not_run), Promotion(skipped=not_run)
    explained, served = ShapSummary(skipped=not_run), ServedCheck(skipped=not_run)
    return finish_batch(store, batch_id, report, cleaned, decision, promotion, explained, served, None)


def has_price(row: Any) -> bool:
    return bool(row[COLUMNS.index("price")] if isinstance(row, list) else row.get("price") is not None)


MODES = {
    "first batch 0": (["--first-batch", "0"], {}),
    "first batch 1": (["--first-batch", "1"], {}),
    "windowed": (["--window-s", str(WINDOW_S)], {}),
    "rows as lists": (["--rows-as-lists"], {}),
    "all at once": (["--first-batch", "0", "--window-s", str(WINDOW_S), "--rows-as-lists"], {"day": "Tuesday"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_every_row_the_server_sends_reaches_raw_once_and_is_accounted_for(
    mode: str, data_api, received: Received, sample_csv: Path, tmp_path: Path
) -> None:
    options, client = MODES[mode]
    server = data_api("--csv", str(sample_csv), "--batch-size", str(BATCH_ROWS), *options)
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'raw.db'}",
        source="http",
        data_api_url=server.url,
        data_api_day=client.get("day"),
    )
    store = Store(settings.database_url)
    said: list[str] = []
    summaries: list[BatchSummary] = []

    finished = run_turns(
        lambda: one_turn(store, settings),
        None,
        pace=Pace(repeat_wait_s=REPEAT_WAIT_S),
        say=said.append,
        after_turn=summaries.append,
    )

    assert finished and summaries[-1].exhausted, "the 400 at the end is a clean end, not a failure"
    batches = store.batches()
    assert len(batches) == len(received.batches), "one RAW batch per answer: no answer dropped, none merged"
    for record, sent in zip(batches, received.batches, strict=True):
        assert record.batch_number == sent.batch_number and record.day == client.get("day")
        assert [row for _, row in store.raw_rows(record.id)] == sent.rows, "RAW keeps what came, as it came"
        assert store.count("clean_rows", record.id) + store.count("quarantine", record.id) == record.row_count
        assert record.status == "done"
    first = 0 if "--first-batch" in options and options[options.index("--first-batch") + 1] == "0" else 1
    assert sorted({b.batch_number for b in batches}) == list(range(first, first + 5))
    if "--rows-as-lists" in options:
        assert all(isinstance(row, list) and all(isinstance(v, str) for v in row) for row in received.batches[0].rows)

    sent_rows = {json.dumps(row) for batch in received.batches for row in batch.rows if has_price(row)}
    assert store.count("clean_rows") == len(sent_rows), "each listing once in CLEAN, whichever portions held it"

    if "--window-s" in options:
        portions = [b.portion for b in batches]
        assert max(portions) > 1, "several calls inside a window: several portions of one batch"
        repeats = [i for i, b in enumerate(batches) if b.portion > 1]
        for i in repeats[:-1]:  # after a repeat the client waits before asking again: no tight loop
            assert received.asked_at[i + 1] - received.asked_at[i] >= REPEAT_WAIT_S
        number = batches[repeats[0]].batch_number
        assert f"batch {number} again: the server has not moved on; next request in 1 s" in said
    else:
        assert [b.portion for b in batches] == [1] * 5 and said == []

    again = store.ingest_raw(received.batches[1])
    assert (again.batch_id, again.created) == (batches[1].id, False), "an identical re-delivery changes nothing"
    assert len(store.batches()) == len(batches)


@pytest.mark.slow
def test_a_redelivered_batch_goes_through_the_loop_without_changing_anything(
    data_api, received: Received, sample_csv: Path, tmp_path: Path
) -> None:
    # A window far longer than the test, and each portion the whole batch: every call gets the same rows.
    config = Settings().configs.datasource.model_dump(mode="json")
    config["server"]["window_portion_share"] = 1.0
    config_file = tmp_path / "datasource.yaml"
    config_file.write_text(json.dumps(config))
    server = data_api(
        "--csv", str(sample_csv), "--batch-size", "500", "--window-s", "600", "--config", str(config_file)
    )
    settings = Settings(
        home=tmp_path, db_url=f"sqlite:///{tmp_path / 'raw.db'}", source="http", data_api_url=server.url
    )
    store = Store(settings.database_url)

    first, second = one_turn(store, settings), one_turn(store, settings)

    assert (first.batch_id, first.redelivered) == (second.batch_id, False)
    assert second.redelivered and len(store.batches()) == 1 and store.count("raw_rows") == 500
    assert store.count("clean_rows") + store.count("quarantine") == first.clean + first.quarantined == 500


# A stand-in for a course deployment: /data answers STATUS with the file BODY, other paths 403 with FORBIDDEN.
_STAND_IN = """
import http.server, pathlib, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = self.path.startswith("/data")
        status, body = (int(sys.argv[2]), sys.argv[3]) if data else (403, sys.argv[4])
        body = pathlib.Path(body).read_text()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def stand_in(start_server, folder: Path, status: int, body: Any) -> RunningServer:
    (folder / "data.json").write_text(json.dumps(body))
    (folder / "forbidden.json").write_text(json.dumps({"detail": "group 7 is not yours"}))
    answers = [str(status), str(folder / "data.json"), str(folder / "forbidden.json")]
    return start_server(["-c", _STAND_IN.replace("{", "{{").replace("}", "}}"), "{port}", *answers], "/data")


def test_http_400_ends_the_group_whatever_its_detail_and_other_4xx_say_what_they_said(
    start_server, tmp_path: Path
) -> None:
    server = stand_in(start_server, tmp_path, 400, {"detail": COURSE_EXHAUSTED})
    with HttpSource(server.url, Settings().configs.datasource.client) as source:
        with pytest.raises(SourceExhausted, match=COURSE_EXHAUSTED):
            source.next_batch(1, 0)
        with pytest.raises(SourceUnavailable, match=r"HTTP 403 \(group 7 is not yours\)"):
            source.restart(7)


def test_a_server_that_sends_no_batch_number_gets_one_counted(start_server, tmp_path: Path) -> None:
    server = stand_in(start_server, tmp_path, 200, {"group_number": 1, "data": [{"price": 1}]})
    with HttpSource(server.url, Settings().configs.datasource.client) as source:
        assert source.next_batch(1, 0).batch_number == 1
        assert source.next_batch(1, 4).batch_number == 5


def test_a_windowed_server_hands_out_portions_of_the_batch_then_moves_on(data_api, sample_csv: Path) -> None:
    server = data_api("--csv", str(sample_csv), "--batch-size", "100", "--window-s", "1")
    with HttpSource(server.url, Settings().configs.datasource.client) as source:
        first, second = source.next_batch(1, 0), source.next_batch(1, 0)
        time.sleep(1.1)
        moved_on = source.next_batch(1, 0)

    assert (first.batch_number, second.batch_number, moved_on.batch_number) == (1, 1, 2)
    assert len(first.rows) == len(second.rows) == 50 and first.rows != second.rows
    assert len({json.dumps(r) for r in first.rows + second.rows}) < 100, "portions are random parts: they overlap"
